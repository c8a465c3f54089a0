"""Object instances: a frame's points grouped into clusters of one feature, matched to tracked instances.

A frame's segments are the connected clusters of the voxels its points fall in, per palette feature
(``mem3d.query.localization.cluster_labels``). A feature one of whose clusters is structure (wider or
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
from mem3d.map import keys as voxel_keys
from mem3d.query.localization import cluster_labels
from mem3d.types import FeatureFrame


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
    order = np.lexsort((keys, rows))
    keys, rows = keys[order], rows[order]
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
    return cluster_labels(cells)[inverse]


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

    def sighting(self, voxel_size: float, score: float = 1.0, keyframe=None) -> Sighting:
        half = voxel_size / 2
        return Sighting(instance=self.id, position=_vec(self.position), bbox_min=_vec(self.lo - half),
                        bbox_max=_vec(self.hi + half), place=self.place, stamp=self.last_seen, score=score,
                        status=self.status, keyframe=keyframe)


def _vec(values: np.ndarray) -> tuple[float, float, float]:
    return float(values[0]), float(values[1]), float(values[2])


class InstanceTable:
    """The features (float32), boxes and centroids of instances stacked in rows, for whole-frame matrix
    operations. A row is rewritten only when its instance's arrays were replaced: the memory never
    changes them in place, so an unchanged object means an unchanged row."""

    def __init__(self) -> None:
        self._rows: dict[int, int] = {}
        self._refs: dict[int, tuple] = {}
        self._features = np.empty((0, 0), dtype=np.float32)
        self._boxes = np.empty((0, 3, 3))
        """(rows, 3, 3): lo, hi, position."""

    def take(self, instances: list[Instance]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(features (N, D), lo, hi, position (N, 3)) of ``instances``, in their order (copies)."""
        for inst in instances:
            refs = (inst.feature, inst.lo, inst.hi, inst.position)
            old = self._refs.get(inst.id)
            if old is None or any(a is not b for a, b in zip(old, refs)):
                row = self._row(inst.id, inst.feature.shape[0])
                self._features[row] = inst.feature
                self._boxes[row] = (inst.lo, inst.hi, inst.position)
                self._refs[inst.id] = refs
        rows = np.fromiter((self._rows[inst.id] for inst in instances), dtype=np.int64, count=len(instances))
        boxes = self._boxes[rows]
        return self._features[rows], boxes[:, 0], boxes[:, 1], boxes[:, 2]

    def forget(self, instance_id: int) -> None:
        """An instance that ended; its row is reused when the table is compacted."""
        self._rows.pop(instance_id, None)
        self._refs.pop(instance_id, None)

    def _row(self, instance_id: int, dim: int) -> int:
        if instance_id in self._rows:
            return self._rows[instance_id]
        used = max(self._rows.values(), default=-1) + 1
        if used > 2 * len(self._rows) + 256:  # mostly ended instances: compact
            order = sorted(self._rows, key=self._rows.get)
            keep = np.array([self._rows[i] for i in order], dtype=np.int64)
            self._features[: keep.size], self._boxes[: keep.size] = self._features[keep], self._boxes[keep]
            self._rows = {i: r for r, i in enumerate(order)}
            used = keep.size
        if used >= self._features.shape[0] or self._features.shape[1] != dim:
            size = max(64, 2 * used)
            features = np.zeros((size, dim), dtype=np.float32)
            boxes = np.zeros((size, 3, 3))
            if self._features.shape[1] == dim:
                features[:used], boxes[:used] = self._features[:used], self._boxes[:used]
            else:  # another feature size: every row is rewritten
                self._rows, self._refs, used = {}, {}, 0
            self._features, self._boxes = features, boxes
        self._rows[instance_id] = used
        return used


def match_segments(segments: list[Segment], instances: list[Instance], config: InstanceConfig,
                   table: InstanceTable | None = None) -> list[Instance | None]:
    """For each segment the instance it belongs to (or None): among those not gone with a similar
    feature whose grown box holds the segment's centroid, the nearest (the first on ties)."""
    candidates = [inst for inst in instances if inst.status != "gone"]
    if not segments or not candidates:
        return [None] * len(segments)
    features, lo, hi, centres = (table or InstanceTable()).take(candidates)
    lo, hi = lo - config.match_distance_m, hi + config.match_distance_m
    centroids = np.stack([segment.centroid for segment in segments])
    similar = np.stack([segment.feature for segment in segments]) @ features.T >= config.same_object_cosine
    inside = np.all((centroids[:, None, :] >= lo[None]) & (centroids[:, None, :] <= hi[None]), axis=2)
    distance = np.linalg.norm(centres[None, :, :] - centroids[:, None, :], axis=2)
    distance = np.where(similar & inside, distance, np.inf)
    best = np.argmin(distance, axis=1)
    found = np.isfinite(distance[np.arange(len(segments)), best])
    return [candidates[b] if ok else None for b, ok in zip(best.tolist(), found.tolist())]
