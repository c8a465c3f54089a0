"""Localization: a query embedding -> ranked candidates (connected clusters of matching voxels).

The decision rule (what makes a cluster a candidate, i.e. the object "found"):

1. its voxels score at least ``threshold`` (cosine with the query), or, for the voxels of the query's
   clear favourite in the map's codebook (the centroid it scores best, by at least ``margin`` over
   every other centroid), at least ``threshold - margin_reach``: a paraphrase that falls just under
   the threshold is still found when nothing else in the map competes for it;
2. it is big enough (``min_cluster_voxels``), or, smaller, carries the evidence of a small object:
   at least ``small_min_points`` fused points seen at ``small_min_sightings`` different times, and
   not stale: its surroundings (within two voxels) were not observed more than ``small_stale_s``
   after it last was. That is how a small object that left is forgotten where depth cannot carve
   it: the bottom voxels of an object within the carving margin of the surface it stood on;
3. (``pure_evidence``) at least one of its voxels is *explained* by a feature perception sent: the
   voxel's codebook centroid (learned from the frames' palettes, never from blends) reaches the
   threshold too (within ``pure_tolerance``). A voxel where two touching objects blend can score
   above both of them (the normalised mean of two features is nearer the query than either); such
   voxels join a cluster and rank it but cannot make an object found on their own;
4. (``QueryTerms.head``) where the query's head noun differs from the whole query, that voxel's
   centroid also matches the head noun (at least ``head_threshold``), unless the whole query matches
   it surely (``sure_threshold``: an exact name such as "trash can" whose head "can" means little
   alone). "fridge magnet" then does not find the fridge;
5. (``QueryTerms.colours``) the colour the map observed (median of the cluster's voxel colours)
   agrees with every colour word of the query (``mem3d.query.terms.colour_agrees``);
6. (``QueryTerms.own_name``) where the query is one of the common names of
   ``mem3d.query.vocabulary`` ("sofa", colour words aside), that name is one of that voxel's
   centroid's names: it fits the centroid within ``name_tolerance`` of the best-fitting common name,
   or the query is a broader word for one of them ("clock" for "alarm clock"). "sofa" then does not
   find an armchair (which "armchair" and "chair" fit far better than "sofa"), while "couch" still
   finds the sofa ("sofa" fits it best, "couch" nearly as well) and "ball" the basketball. A query
   that is no common name but whose head noun is ("sink cabinet": "cabinet") is held to its head's
   name where it matches only under the threshold (by the margin part of rule 1).

Candidates are ranked by the mean score of their ``score_voxels`` best voxels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from mem3d.errors import InvalidInputError, SchemaMismatchError
from mem3d.map import keys as voxel_keys
from mem3d.map.codebook import FeatureCodebook
from mem3d.map.store import VoxelStore
from mem3d.query.terms import QueryTerms, colour_agrees
from mem3d.types import Candidate, LocalizeResult

# Half of the 26-neighbourhood: with its mirror image every neighbour pair is found once.
_HALF_NEIGHBOURHOOD = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)
                                if (i, j, k) > (0, 0, 0)], dtype=np.int64)
_KEY_OFFSETS = voxel_keys.pack(_HALF_NEIGHBOURHOOD) - voxel_keys.pack(np.zeros((1, 3), dtype=np.int64))


SCORE_CHUNK_ROWS = 512
"""Rows scored per chunk: 512 x 512 int8 gathered, widened to 1 MB of float32, so both buffers stay in
the core's cache between the gather, the widening and the product (8,192 rows, 16 MB, went to memory
and back: 2.4x slower on 650k voxels, 3.2 vs 7.7 ms mean for the service benchmark's queries)."""


@dataclass(frozen=True)
class LocalizeConfig:
    """How matches are found, grouped and decided (the rule is in the module notes)."""

    threshold: float = 0.5
    """Cosine similarity a voxel needs to match; calibrate it per encoder (docs/architecture.md)."""
    min_cluster_voxels: int = 3
    """Smaller clusters need the evidence of a small object (below) or are treated as noise."""
    score_voxels: int = 10
    """A cluster's score is the mean similarity of its best this-many voxels."""
    small_min_points: float = 4.0
    """A cluster under ``min_cluster_voxels`` is kept with at least this many fused points (pixels)..."""
    small_min_sightings: int = 2
    """...seen at this many distinct stamps (first and last sightings of its voxels)..."""
    small_stale_s: float = 2.0
    """...and not stale: its surroundings seen no more than this many seconds after it."""
    pure_evidence: bool = True
    """A candidate needs a voxel whose codebook centroid reaches the threshold (not only blends)."""
    pure_tolerance: float = 0.0
    """How far under the threshold that centroid may score (labels within 0.5 of each other share a
    centroid, their mean, which scores a little under the label itself). 0: measured blends at a
    floor contact lift the score by only a few hundredths, so any tolerance lets them through."""
    head_threshold: float = 0.45
    """Cosine the query's head noun needs with that centroid (when the query has a separate head)."""
    sure_threshold: float = 0.78
    """A centroid matching the whole query at least this well needs no head-noun check."""
    margin_reach: float = 0.15
    """How far under ``threshold`` the voxels of the query's clear favourite centroid may match (0 = no
    margin rule). It lifts paraphrase recall; the common-name check (rule 6) keeps a related object
    from standing in for a target not yet in memory ("sofa" found at an armchair), which made planners
    stop at the wrong thing while the margin rule worked without it (docs/perception.md)."""
    margin: float = 0.1
    """By how much the favourite centroid must beat every other centroid for ``margin_reach``."""
    name_tolerance: float = 0.1
    """Names fitting a centroid (cosine) within this of its best-fitting common name are its names."""

    def __post_init__(self) -> None:
        if self.min_cluster_voxels < 1 or self.score_voxels < 1 or self.small_min_sightings < 1:
            raise InvalidInputError("min_cluster_voxels, score_voxels and small_min_sightings must be >= 1")
        if not self.small_min_points >= 0:
            raise InvalidInputError(f"small_min_points must be >= 0, got {self.small_min_points}")


def check_query(query: np.ndarray, feature_dim: int) -> np.ndarray:
    """Validate a query embedding and return it as a unit float32 vector.

    A vector of another length is ``SchemaMismatchError`` (made for another map); anything else that
    is not a finite, non-zero float vector is ``InvalidInputError``.
    """
    query = np.asarray(query)
    if query.ndim != 1:
        raise InvalidInputError(f"query must be a vector of dimension {feature_dim}, got shape {query.shape}")
    if query.shape[0] != feature_dim:
        raise SchemaMismatchError(f"query has dimension {query.shape[0]}, this map's features have "
                                  f"dimension {feature_dim}")
    if not np.issubdtype(query.dtype, np.floating) or not np.isfinite(query).all():
        raise InvalidInputError("query must be a finite floating-point vector")
    norm = float(np.linalg.norm(query))
    if norm == 0.0:
        raise InvalidInputError("query must not be the zero vector")
    return (query / norm).astype(np.float32)


def matching_voxels(store: VoxelStore, codebook: FeatureCodebook, query: np.ndarray, threshold: float,
                    favourite: int = -1, favourite_threshold: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Slots (ascending) and exact cosine scores of every voxel scoring >= ``threshold`` (unit ``query``),
    and of the voxels of codebook centroid ``favourite`` (if >= 0) scoring >= ``favourite_threshold``.

    The lower threshold is looked for among the favourite's voxels only: lowering it for the whole map
    would make every voxel whose bound reaches it a candidate to score exactly (at 650k voxels, 10x the
    rows for the service benchmark's queries, all of them to be thrown away). Candidates are found by
    the store's page summary (``mem3d.map.bound_pages``): only pages that can hold one are scanned."""
    if not len(codebook):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    bound_scores = codebook.bound_scores(query)
    needed = codebook.needed_slack(bound_scores, threshold)
    lowered = favourite >= 0 and favourite_threshold is not None and favourite_threshold < threshold
    if lowered:
        needed[favourite] = codebook.needed_slack(bound_scores[favourite:favourite + 1], favourite_threshold)[0]
    n = store.n
    slots = store.bounds.candidates(store.code[:n], store.bound_slack[:n], needed)
    floor: float | np.ndarray = threshold
    if lowered:
        floor = np.where(store.code[slots] == favourite, np.float32(favourite_threshold), np.float32(threshold))
    scores = _dot_rows(store.feature, slots, query) * store.feature_scale[slots]
    np.clip(scores, -1.0, 1.0, out=scores)  # quantization can nudge a perfect match past 1
    keep = scores >= floor
    return slots[keep], scores[keep]


def _dot_rows(features: np.ndarray, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``features[rows] @ query`` for int8 rows, in chunks through reused float32 buffers.

    Converting all rows at once would allocate rows x D float32 (860 MB for a 420k-voxel floor);
    page faults on that allocation, not the arithmetic, would then dominate a large query.
    """
    out = np.empty(rows.shape[0], dtype=np.float32)
    chunk = SCORE_CHUNK_ROWS
    gathered = np.empty((min(chunk, rows.shape[0]), features.shape[1]), dtype=features.dtype)
    widened = np.empty(gathered.shape, dtype=np.float32)
    for start in range(0, rows.shape[0], chunk):
        part = rows[start:start + chunk]
        np.take(features, part, axis=0, out=gathered[: part.shape[0]])
        widened[: part.shape[0]] = gathered[: part.shape[0]]
        np.matmul(widened[: part.shape[0]], query, out=out[start:start + part.shape[0]])
    return out


def cluster_labels(keys: np.ndarray) -> np.ndarray:
    """Connected components (26-neighbourhood) of a set of voxel keys; one label per key."""
    order = np.argsort(keys)
    sorted_keys = keys[order]
    rows, cols = [], []
    last = sorted_keys.shape[0] - 1
    for offset in _KEY_OFFSETS:
        neighbours = sorted_keys + offset  # sorted too, which searchsorted exploits
        at = np.searchsorted(sorted_keys, neighbours)
        np.minimum(at, last, out=at)
        hit = np.flatnonzero(sorted_keys[at] == neighbours)
        rows.append(hit)
        cols.append(at[hit])
    rows_all, cols_all = np.concatenate(rows), np.concatenate(cols)
    n = keys.shape[0]
    graph = coo_matrix((np.ones(rows_all.shape[0], dtype=np.int8), (rows_all, cols_all)), shape=(n, n))
    _, sorted_labels = connected_components(graph, directed=False)
    labels = np.empty(n, dtype=np.int64)
    labels[order] = sorted_labels
    return labels


def with_threshold(config: LocalizeConfig, threshold: float | None) -> LocalizeConfig:
    """``config`` with a query's own threshold (None = the configured one), checked."""
    if threshold is None:
        return config
    if not -1.0 <= threshold <= 1.0:
        raise InvalidInputError(f"threshold must be a cosine similarity in [-1, 1], got {threshold}")
    return replace(config, threshold=threshold)


def localize(store: VoxelStore, voxel_size: float, codebook: FeatureCodebook, query: np.ndarray, top_k: int,
             config: LocalizeConfig, terms: QueryTerms | None = None) -> LocalizeResult:
    """Ranked candidates for a unit ``query`` among the voxels of ``store`` (edge ``voxel_size``,
    metres), decided by the rule of the module notes; no candidates means "not found". ``terms``
    (head noun, colour words) come from the query's text (``mem3d.query.terms.query_terms``)."""
    if top_k < 1:
        raise InvalidInputError(f"top_k must be at least 1, got {top_k}")
    terms = terms or QueryTerms()
    if terms.head is not None:
        terms = replace(terms, head=check_query(terms.head, query.shape[0]))
    if terms.names is not None and terms.names.shape[1:] != query.shape:
        raise SchemaMismatchError(f"the names of the query's terms have dimension {terms.names.shape[1:]}, "
                                  f"this map's features {query.shape[0]}")
    centroid_scores = codebook.centroids @ query
    favourite = _favourite(centroid_scores, config)
    reach = config.threshold - (config.margin_reach if favourite >= 0 else 0.0)
    slots, scores = matching_voxels(store, codebook, query, config.threshold, favourite, reach)
    if slots.size == 0:
        return LocalizeResult((), config.threshold, 0)
    labels = cluster_labels(store.key[slots])
    cluster_scores = _top_mean(labels, scores, config.score_voxels)
    explained = _explained(store, codebook, slots, labels, scores, centroid_scores, reach, favourite, terms, config)
    eligible = np.flatnonzero(_big_enough(store, slots, labels, config) & explained)
    ranked = eligible[np.argsort(-cluster_scores[eligible], kind="stable")]
    sizes = np.bincount(labels)
    candidates = []
    for c in ranked:
        members = labels == c
        if terms.colours and not _colours_agree(store.color[slots[members]], terms.colours):
            continue
        if sizes[c] < config.min_cluster_voxels and _stale(store, voxel_size, slots[members], config.small_stale_s):
            continue
        candidates.append(_candidate(store, voxel_size, slots[members], scores[members], float(cluster_scores[c])))
        if len(candidates) == top_k:
            break
    return LocalizeResult(tuple(candidates), config.threshold, int(np.count_nonzero(scores >= config.threshold)))


def _favourite(centroid_scores: np.ndarray, config: LocalizeConfig) -> int:
    """The centroid the query clearly prefers (by ``margin`` over all others), or -1 (none, or no margin rule)."""
    if config.margin_reach <= 0 or centroid_scores.size == 0:
        return -1
    order = np.argsort(-centroid_scores)
    second = float(centroid_scores[order[1]]) if order.size > 1 else -1.0
    return int(order[0]) if float(centroid_scores[order[0]]) - second >= config.margin else -1


def _big_enough(store: VoxelStore, slots: np.ndarray, labels: np.ndarray, config: LocalizeConfig) -> np.ndarray:
    """Per cluster: at least ``min_cluster_voxels``, or a small object's evidence (points and sightings)."""
    sizes = np.bincount(labels)
    points = np.bincount(labels, weights=store.weight[slots], minlength=sizes.size)
    keep = sizes >= config.min_cluster_voxels
    small = np.flatnonzero(~keep & (points >= config.small_min_points))
    if small.size:
        in_small = np.isin(labels, small)
        stamp_labels = np.concatenate([labels[in_small]] * 2)
        stamps = np.concatenate([store.first_seen[slots[in_small]], store.last_seen[slots[in_small]]])
        pairs = np.unique(np.stack([stamp_labels.astype(np.float64), stamps], axis=1), axis=0)
        sightings = np.bincount(pairs[:, 0].astype(np.int64), minlength=sizes.size)
        keep[small] = sightings[small] >= config.small_min_sightings
    return keep


def _stale(store: VoxelStore, voxel_size: float, members: np.ndarray, after_s: float) -> bool:
    """Whether voxels within two voxels of ``members`` (slots), not among them, were observed more than
    ``after_s`` seconds after the latest of them."""
    positions = store.position[members].astype(np.float64)
    lo, hi = positions.min(axis=0) - 2.0 * voxel_size, positions.max(axis=0) + 2.0 * voxel_size
    nearby = _inside_box(store.position[: store.n], lo, hi)
    nearby = nearby[~np.isin(nearby, members)]
    return bool(nearby.size) and float(store.last_seen[nearby].max()) > float(store.last_seen[members].max()) + after_s


def _inside_box(positions: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Rows (ascending) of (V, 3) float32 ``positions`` inside the box [lo, hi] (float64, metres, inclusive).

    The x test first, over one column, in float32 against the float32 bounds that decide the same
    (no float64 copy of the column), then the whole test on the rows it leaves: the same rows as the
    whole test over every row, which makes three (V, 3) arrays (30x slower at 1 M voxels).
    """
    x = positions[:, 0]
    low, high = _float32_within(lo[0], hi[0])
    rows = np.flatnonzero(np.logical_and(x >= low, x <= high))
    inside = np.all((positions[rows] >= lo) & (positions[rows] <= hi), axis=1)
    return rows[inside]


def _float32_within(lo: float, hi: float) -> tuple[np.float32, np.float32]:
    """The least float32 >= ``lo`` and the greatest <= ``hi``: a float32 x lies in [lo, hi] exactly when
    it lies between them."""
    low, high = np.float32(lo), np.float32(hi)
    if float(low) < lo:
        low = np.nextafter(low, np.float32(np.inf))
    if float(high) > hi:
        high = np.nextafter(high, np.float32(-np.inf))
    return low, high


def _explained(store: VoxelStore, codebook: FeatureCodebook, slots: np.ndarray, labels: np.ndarray,
               scores: np.ndarray, centroid_scores: np.ndarray, reach: float, favourite: int, terms: QueryTerms,
               config: LocalizeConfig) -> np.ndarray:
    """Per cluster: whether a voxel of it is explained by a perceived feature matching the query (and its
    head noun): rules 3 and 4 of the module notes (``reach``: the favourite centroid's own threshold)."""
    codes = store.code[slots]
    if config.pure_evidence:
        whole = np.minimum(centroid_scores[codes] + config.pure_tolerance, scores)
    else:
        whole = scores
    ok = (whole >= config.threshold) | ((codes == favourite) & (whole >= reach))
    if terms.names is not None and terms.own_name is not None and terms.broader is not None:
        misnamed = _misnamed(codebook, codes, terms, config)
        ok &= ~(misnamed & (whole < config.threshold)) if terms.head_name else ~misnamed
    if terms.head is not None:
        if config.pure_evidence:
            head = (codebook.centroids @ terms.head)[codes]
        else:
            head = _dot_rows(store.feature, slots, terms.head) * store.feature_scale[slots]
        ok &= (head >= config.head_threshold) | (whole >= config.sure_threshold)
    return np.bincount(labels, weights=ok, minlength=int(labels.max()) + 1) > 0


def _misnamed(codebook: FeatureCodebook, codes: np.ndarray, terms: QueryTerms, config: LocalizeConfig) -> np.ndarray:
    """Per code of ``codes``: whether the query names a common thing that its centroid is not, nor a kind
    of (rule 6 of the module notes)."""
    used, inverse = np.unique(codes, return_inverse=True)
    fits = terms.names @ codebook.centroids[used].T  # (V, U): how well each name fits each centroid
    its_names = fits >= fits.max(axis=0) - config.name_tolerance
    kind_of = (its_names & terms.broader[:, None]).any(axis=0)
    return (~its_names[terms.own_name] & ~kind_of)[inverse]


def _colours_agree(colors: np.ndarray, names: tuple[str, ...]) -> bool:
    """Whether the median observed colour of a cluster's voxels agrees with every colour name."""
    median = np.median(colors.astype(np.float64), axis=0)
    return all(colour_agrees(median, name) for name in names)


def _top_mean(labels: np.ndarray, scores: np.ndarray, count: int) -> np.ndarray:
    """Per label, the mean of its ``count`` highest scores."""
    order = np.lexsort((-scores, labels))
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    group_sizes = np.diff(np.r_[starts, sorted_labels.shape[0]])
    rank = np.arange(sorted_labels.shape[0]) - np.repeat(starts, group_sizes)
    best = rank < count
    totals = np.bincount(sorted_labels[best], weights=scores[order][best])
    return totals / np.bincount(sorted_labels[best])


def _candidate(store: VoxelStore, voxel_size: float, slots: np.ndarray, scores: np.ndarray,
               score: float) -> Candidate:
    positions = store.position[slots].astype(np.float64)
    weights = np.maximum(scores, 1e-6)
    centroid = (positions * weights[:, None]).sum(axis=0) / weights.sum()
    half = 0.5 * voxel_size
    latest = slots[int(np.argmax(store.last_seen[slots]))]
    return Candidate(
        centroid=tuple(float(c) for c in centroid),
        bbox_min=tuple(float(c) for c in positions.min(axis=0) - half),
        bbox_max=tuple(float(c) for c in positions.max(axis=0) + half),
        score=score,
        n_voxels=int(slots.size),
        first_seen=float(store.first_seen[slots].min()),
        last_seen=float(store.last_seen[slots].max()),
        obs_id=int(store.last_obs_id[latest]),
    )
