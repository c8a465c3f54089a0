"""Object instances: a frame's points grouped into clusters of one feature, matched to tracked instances.

A frame's segments are the connected clusters of the voxels its points fall in, per palette feature
(26-neighbourhood, ``_components``). A feature one of whose clusters is structure (wider or
taller than an object, or a large thin surface: a floor, a wall, a ceiling) is structure from then
on, and its points make no instances; thin patches of other features are skipped too. A segment belongs to an instance
of a similar feature (``same_object_cosine``) whose box, grown by ``match_distance_m``, holds its
centroid. World frame z up, metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from mem3d.episodic.config import InstanceConfig
from mem3d.episodic.results import NO_KEYFRAME, NO_PLACE, Sighting
from mem3d.errors import SchemaMismatchError
from mem3d.map import keys as voxel_keys
from mem3d.types import FeatureFrame

_HALF_NEIGHBOURHOOD = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)
                                if (i, j, k) > (0, 0, 0)], dtype=np.int64)
_KEY_OFFSETS = voxel_keys.pack(_HALF_NEIGHBOURHOOD) - voxel_keys.pack(np.zeros((1, 3), dtype=np.int64))
"""Packed key offsets of half the 26-neighbourhood (all positive): with the mirror image, every pair once."""


@dataclass(frozen=True)
class Segment:
    feature: np.ndarray
    """(D,) float32 unit."""
    keys: np.ndarray
    """Sorted unique int64 voxel keys."""
    centroid: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    """Box of the voxel centres (3,), metres."""


def frame_segments(frame: FeatureFrame, voxel_size: float, config: InstanceConfig,
                   structure: np.ndarray) -> tuple[list[Segment], list[np.ndarray]]:
    """The object-like clusters of a frame's points, one feature each, and the features found to be
    structure in this frame (a cluster of theirs is a floor, wall or ceiling: ``is_structure``).

    ``structure``: (S, D) features known to be structure; their points are skipped. Clusters are
    connected at twice the voxel edge, so sparse samples of one object stay one cluster."""
    if frame.n_points == 0:
        return [], []
    points, rows = frame.points, frame.feature_index.astype(np.int64)
    features = np.asarray(frame.features, dtype=np.float32)
    features = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    if structure.size:
        keep = ((features @ structure.T).max(axis=1) < config.same_object_cosine)[rows]
        points, rows = points[keep], rows[keep]
    if rows.size == 0:
        return [], []
    group, features = feature_groups(features, config.same_object_cosine)
    rows = group[rows]
    keys = voxel_keys.pack(voxel_keys.voxel_coords(points, voxel_size))
    keys, rows = _sorted_pairs(keys, rows)
    first = np.r_[True, (keys[1:] != keys[:-1]) | (rows[1:] != rows[:-1])]
    keys, rows = keys[first], rows[first]
    labels = _clusters_per_row(keys, rows)
    by_label = np.argsort(labels, kind="stable")
    keys, rows, labels = keys[by_label], rows[by_label], labels[by_label]  # keys stay sorted in a cluster
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    centres = voxel_keys.centers(keys, voxel_size)
    lo, hi = np.minimum.reduceat(centres, starts), np.maximum.reduceat(centres, starts)
    sizes = hi - lo + voxel_size
    counts = np.diff(np.r_[starts, keys.size])
    means = np.add.reduceat(centres, starts) / counts[:, None]
    starts_rows = rows[starts]
    structural = np.unique(starts_rows[_structure_mask(sizes, config)])
    keep = ~np.isin(starts_rows, structural) & (counts >= config.min_voxels) & ~_surface_patch_mask(sizes, config)
    segments = [Segment(features[row], keys[a:a + n], centroid, low, high)
                for row, a, n, centroid, low, high in zip(starts_rows[keep].tolist(), starts[keep].tolist(),
                                                          counts[keep].tolist(), means[keep], lo[keep], hi[keep])]
    return segments, [features[row] for row in structural.tolist()]


def feature_groups(features: np.ndarray, cosine: float) -> tuple[np.ndarray, np.ndarray]:
    """Palette rows that describe one thing: (K,) group of each unit row of (K, D) ``features`` and the
    (G, D) unit mean feature of each group. Greedily, the first row not yet grouped leads a group of
    the rows not yet grouped at least ``cosine`` similar to it (a ViT palette holds many noisy
    variants of one object's feature; label features, one row per label, stay one group each)."""
    k = features.shape[0]
    group = np.full(k, -1, dtype=np.int64)
    similar = features @ features.T >= cosine
    n = 0
    for row in range(k):  # one pass per group, not per row: rows join their leader's group at once
        if group[row] < 0:
            group[similar[row] & (group < 0)] = n
            n += 1
            if n == k or (group >= 0).all():
                break
    if n == k:
        return group, features
    members = np.zeros((n, k), dtype=np.float32)
    members[group, np.arange(k)] = 1.0
    sums = members @ features
    means = (sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    return group, means


def join_segments(segments: list[Segment], config: InstanceConfig, margin: float, voxel_size: float) -> list[Segment]:
    """Segments of one frame that are pieces of one object joined: similar features
    (``same_object_cosine``) and boxes within ``margin`` metres, transitively. Each joined segment
    keeps the feature of its first piece; in the order of the first pieces."""
    n = len(segments)
    if n < 2:
        return list(segments)
    features = np.stack([s.feature for s in segments])
    lo, hi = np.stack([s.lo for s in segments]), np.stack([s.hi for s in segments])
    linked = ((features @ features.T >= config.same_object_cosine)
              & np.all(lo[:, None, :] - margin <= hi[None, :, :], axis=2)
              & np.all(lo[None, :, :] - margin <= hi[:, None, :], axis=2))
    _, labels = connected_components(csr_matrix(linked), directed=False)
    first = {}
    for i, label in enumerate(labels.tolist()):
        first.setdefault(label, []).append(i)
    joined = []
    for members in first.values():
        if len(members) == 1:
            joined.append(segments[members[0]])
            continue
        keys = np.unique(np.concatenate([segments[i].keys for i in members]))[-config.max_keys:]
        centres = voxel_keys.centers(keys, voxel_size)
        joined.append(Segment(segments[members[0]].feature, keys, centres.mean(axis=0), centres.min(axis=0),
                              centres.max(axis=0)))
    return joined


def _sorted_pairs(keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(key, row) pairs sorted by row, then key: what ``np.lexsort((keys, rows))`` orders, 3x faster.
    Keys go through an unstable sort, then rows through a stable one (a radix sort for 16-bit rows;
    a palette has far fewer than 2^15 groups), which keeps each row's keys in order."""
    order = np.argsort(keys)
    by_row = rows[order]
    if by_row.size and by_row.max() < np.iinfo(np.int16).max:
        by_row = by_row.astype(np.int16)
    order = order[np.argsort(by_row, kind="stable")]
    return keys[order], rows[order]


def _clusters_per_row(keys: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Connected components at twice the voxel edge, separately per feature row, in one pass: each
    row's coarse cells are shifted apart along x so that rows never touch."""
    coarse = voxel_keys.unpack(keys) >> 1
    coarse -= coarse.min(axis=0)
    span = int(coarse[:, 0].max()) + 2
    _, rank = np.unique(rows, return_inverse=True)
    coarse[:, 0] += rank * span
    if coarse.max() >= voxel_keys.AXIS_OFFSET:  # a frame kilometres wide: one row at a time
        labels = np.empty(keys.size, dtype=np.int64)
        for r in np.unique(rank):
            at = np.flatnonzero(rank == r)
            labels[at] = _clusters_per_row(keys[at], rows[at]) + r * keys.size
        return labels
    cells, inverse = np.unique(voxel_keys.pack(coarse), return_inverse=True)
    return _components(cells)[inverse]


def _components(cells: np.ndarray) -> np.ndarray:
    """Connected components (26-neighbourhood) of sorted unique voxel keys, numbered in the order of
    each component's first key (as ``scipy.sparse.csgraph.connected_components`` numbers them).

    Union-find in whole-array steps: each neighbour pair hooks the larger root under the smaller, then
    pointers jump to their roots, until every pair shares a root (a few rounds; a frame has ~10^3
    cells, where scipy's graph set-up would cost more than the search)."""
    n = cells.shape[0]
    if n < 2:
        return np.zeros(n, dtype=np.int64)
    neighbours = (cells[None, :] + _KEY_OFFSETS[:, None]).ravel()
    at = np.searchsorted(cells, neighbours)
    np.minimum(at, n - 1, out=at)
    hit = np.flatnonzero(cells[at] == neighbours)
    a, b = hit % n, at[hit]
    parent = np.arange(n)
    while a.size:
        pa, pb = parent[a], parent[b]
        apart = pa != pb
        if not apart.any():
            break
        a, b, pa, pb = a[apart], b[apart], pa[apart], pb[apart]
        np.minimum.at(parent, np.maximum(pa, pb), np.minimum(pa, pb))
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    return np.unique(parent, return_inverse=True)[1]


def is_structure(size: np.ndarray, config: InstanceConfig) -> bool:
    """A cluster of this (3,) size (metres) is a floor, wall or ceiling: too large for an object, or a
    thin surface large in both its other directions (a bed's top is not: it is narrower)."""
    return bool(_structure_mask(np.asarray(size)[None, :], config)[0])


def _structure_mask(sizes: np.ndarray, config: InstanceConfig) -> np.ndarray:
    """(C,) ``is_structure`` of each row of (C, 3) cluster sizes."""
    ordered = np.sort(sizes, axis=1)
    large = (np.maximum(sizes[:, 0], sizes[:, 1]) > config.max_extent_m) | (sizes[:, 2] > config.max_height_m)
    return large | ((ordered[:, 0] <= config.surface_thickness_m) & (ordered[:, 1] >= config.structure_extent_m))


def _surface_patch_mask(sizes: np.ndarray, config: InstanceConfig) -> np.ndarray:
    return (sizes.min(axis=1) <= config.surface_thickness_m) & (sizes.max(axis=1) >= config.surface_extent_m)


@dataclass
class Instance:
    """A tracked object. ``keys`` are the voxels of its current location that the map still holds."""

    id: int
    feature: np.ndarray
    keys: np.ndarray
    peak: int
    """The most voxels it had at its current location."""
    first_seen: float
    last_seen: float
    last_obs_id: int
    place: int = NO_PLACE
    status: str = "present"
    keyframe: int = NO_KEYFRAME
    appeared_unpaired: bool = False
    """It is new (it appeared, or was first seen on a revisit of its place) and no disappearance has
    been paired with it yet: a candidate end of a move."""
    seen_from: dict[int, float] = field(default_factory=dict)
    """Place -> last stamp it was seen from there (current location only)."""
    intervals: list[list[float]] = field(default_factory=list)
    """[start, end, place] sighting intervals."""
    events: list = field(default_factory=list)
    """Its ``Event``s, in order."""
    n_sightings: int = 0
    position: np.ndarray = field(default_factory=lambda: np.zeros(3))
    lo: np.ndarray = field(default_factory=lambda: np.zeros(3))
    hi: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def locate(self, voxel_size: float) -> None:
        """Position and box from the voxels it holds (kept as they were when none are left)."""
        if self.keys.size:
            centres = voxel_keys.centers(self.keys, voxel_size)
            self.position, self.lo, self.hi = centres.mean(axis=0), centres.min(axis=0), centres.max(axis=0)

    def grow(self, fresh: np.ndarray, voxel_size: float) -> None:
        """Add sorted unique voxel keys it lacks; position and box follow without a pass over all its
        voxels (the centroid as a running mean)."""
        held = self.keys.size
        self.keys = np.insert(self.keys, np.searchsorted(self.keys, fresh), fresh)
        self.peak = max(self.peak, self.keys.size)
        if held == 0:
            self.locate(voxel_size)
            return
        centres = voxel_keys.centers(fresh, voxel_size)
        self.position = (self.position * held + centres.sum(axis=0)) / self.keys.size
        self.lo, self.hi = np.minimum(self.lo, centres.min(axis=0)), np.maximum(self.hi, centres.max(axis=0))

    def sighting(self, voxel_size: float, score: float = 1.0, keyframe=None) -> Sighting:
        half = voxel_size / 2
        return Sighting(instance=self.id, position=_vec(self.position), bbox_min=_vec(self.lo - half),
                        bbox_max=_vec(self.hi + half), place=self.place, stamp=self.last_seen, score=score,
                        status=self.status, keyframe=keyframe)


def _vec(values: np.ndarray) -> tuple[float, float, float]:
    return float(values[0]), float(values[1]), float(values[2])


STATUS_CODES = {"present": 1, "forgotten": 2, "gone": 3}
"""``Instance.status`` -> its code in ``InstanceTable.status`` (0: a free row)."""


class InstanceTable:
    """The features (float32), boxes, centroids and status codes of the instances stacked in rows in
    the order of their ids, for whole-frame matrix operations. The memory ``put``s an instance whenever
    it changes its feature, box or status, so no frame walks all instances in Python."""

    def __init__(self) -> None:
        self._rows: dict[int, int] = {}
        self.ids = np.empty(0, dtype=np.int64)
        """(rows,) the instance of each row, -1 where free."""
        self.status = np.empty(0, dtype=np.int8)
        self.features = np.empty((0, 0), dtype=np.float32)
        self.boxes = np.empty((0, 3, 3))
        """(rows, 3, 3): lo, hi, position."""
        self._used = 0

    def put(self, inst: Instance) -> None:
        """Write ``inst``'s current feature, box, centroid and status to its row."""
        row = self._row(inst.id, inst.feature.shape[0])
        self.features[row] = inst.feature
        self.boxes[row, 0], self.boxes[row, 1], self.boxes[row, 2] = inst.lo, inst.hi, inst.position
        self.status[row] = STATUS_CODES[inst.status]

    def forget(self, instance_id: int) -> None:
        """An instance that ended; its row is reused when the table is compacted."""
        row = self._rows.pop(instance_id, None)
        if row is not None:
            self.ids[row], self.status[row] = -1, 0

    def rows(self, *statuses: str) -> np.ndarray:
        """Rows (ascending, so in id order) of the instances with one of ``statuses``."""
        used = self.status[: self._used]
        if len(statuses) == 1:
            return np.flatnonzero(used == STATUS_CODES[statuses[0]])
        return np.flatnonzero(np.isin(used, [STATUS_CODES[s] for s in statuses]))

    def _row(self, instance_id: int, dim: int) -> int:
        row = self._rows.get(instance_id)
        if row is not None:
            return row
        if self._used and self.features.shape[1] != dim:
            raise SchemaMismatchError(f"an instance feature of dimension {dim}; the memory's have "
                                      f"{self.features.shape[1]}")
        if self._used > 2 * len(self._rows) + 256:  # mostly ended instances: compact, keeping id order
            keep = np.flatnonzero(self.ids[: self._used] >= 0)
            for name in ("ids", "status", "features", "boxes"):
                array = getattr(self, name)
                array[: keep.size] = array[keep]
            self.ids[keep.size: self._used], self.status[keep.size: self._used] = -1, 0
            self._rows = {i: r for r, i in enumerate(self.ids[: keep.size].tolist())}
            self._used = keep.size
        if self._used >= self.ids.shape[0]:
            size = max(64, 2 * self._used)
            grown = (np.full(size, -1, dtype=np.int64), np.zeros(size, dtype=np.int8),
                     np.zeros((size, dim), dtype=np.float32), np.zeros((size, 3, 3)))
            if self._used:
                for array, old in zip(grown, (self.ids, self.status, self.features, self.boxes)):
                    array[: self._used] = old[: self._used]
            self.ids, self.status, self.features, self.boxes = grown
        row = self._used
        self._rows[instance_id], self.ids[row] = row, instance_id
        self._used += 1
        return row


def match_segments(segments: list[Segment], table: InstanceTable, config: InstanceConfig) -> list[int | None]:
    """For each segment the id of the instance it belongs to (or None): among those not gone with a
    similar feature whose grown box holds the segment's centroid, the nearest (the lowest id on ties).
    Boxes are tested first, so features are compared only where a box holds a centroid."""
    rows = table.rows("present", "forgotten")
    if not segments or rows.size == 0:
        return [None] * len(segments)
    boxes = table.boxes[rows]
    lo, hi, centres = boxes[:, 0] - config.match_distance_m, boxes[:, 1] + config.match_distance_m, boxes[:, 2]
    centroids = np.stack([segment.centroid for segment in segments])
    inside = np.all((centroids[:, None, :] >= lo[None]) & (centroids[:, None, :] <= hi[None]), axis=2)
    segment_at, candidate = np.nonzero(inside)
    features = np.stack([segment.feature for segment in segments])
    similar = np.einsum("pd,pd->p", features[segment_at], table.features[rows[candidate]]) >= config.same_object_cosine
    segment_at, candidate = segment_at[similar], candidate[similar]
    distance = np.full(inside.shape, np.inf)
    distance[segment_at, candidate] = np.linalg.norm(centres[candidate] - centroids[segment_at], axis=1)
    best = np.argmin(distance, axis=1)
    found = np.isfinite(distance[np.arange(len(segments)), best])
    ids = table.ids[rows[best]].tolist()
    return [i if ok else None for i, ok in zip(ids, found.tolist())]
