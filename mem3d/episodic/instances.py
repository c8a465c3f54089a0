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
    keys = voxel_keys.pack(voxel_keys.voxel_coords(frame.points, voxel_size))
    rows = frame.feature_index.astype(np.int64)
    features = np.asarray(frame.features, dtype=np.float32)
    features = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    if structure.size:
        keep = ((features @ structure.T).max(axis=1) < config.same_object_cosine)[rows]
        keys, rows = keys[keep], rows[keep]
    if keys.size == 0:
        return [], []
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
    structural = {int(rows[a]) for a, size in zip(starts, sizes) if is_structure(size, config)}
    segments = []
    for i, a in enumerate(starts):
        row = int(rows[a])
        if row in structural or counts[i] < config.min_voxels or _is_surface_patch(sizes[i], config):
            continue
        b = a + counts[i]
        segments.append(Segment(features[row], keys[a:b], centres[a:b].mean(axis=0), lo[i], hi[i]))
    return segments, [features[row] for row in sorted(structural)]


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
    if max(size[0], size[1]) > config.max_extent_m or size[2] > config.max_height_m:
        return True
    thin, middle, _ = np.sort(size)
    return bool(thin <= config.surface_thickness_m and middle >= config.structure_extent_m)


def _is_surface_patch(size: np.ndarray, config: InstanceConfig) -> bool:
    return bool(size.min() <= config.surface_thickness_m and size.max() >= config.surface_extent_m)


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
    """It appeared and no disappearance has been paired with it yet (a candidate end of a move)."""
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


def match_segments(segments: list[Segment], instances: list[Instance], config: InstanceConfig) -> list[Instance | None]:
    """For each segment the instance it belongs to (or None): among those not gone with a similar
    feature whose grown box holds the segment's centroid, the nearest."""
    candidates = [inst for inst in instances if inst.status != "gone"]
    if not segments or not candidates:
        return [None] * len(segments)
    features = np.stack([inst.feature for inst in candidates])
    lo = np.stack([inst.lo for inst in candidates]) - config.match_distance_m
    hi = np.stack([inst.hi for inst in candidates]) + config.match_distance_m
    centres = np.stack([inst.position for inst in candidates])
    matches: list[Instance | None] = []
    for segment in segments:
        similar = features @ segment.feature >= config.same_object_cosine
        inside = np.all((segment.centroid >= lo) & (segment.centroid <= hi), axis=1)
        ok = np.flatnonzero(similar & inside)
        if ok.size == 0:
            matches.append(None)
            continue
        distance = np.linalg.norm(centres[ok] - segment.centroid, axis=1)
        matches.append(candidates[int(ok[np.argmin(distance)])])
    return matches
