"""Summaries of map updates for the change feed: counts per region and object-sized changes."""

from __future__ import annotations

import numpy as np

from mem3d.map import keys as voxel_keys
from mem3d.protocol.wire import Message
from mem3d.query.localization import cluster_labels
from mem3d.types import MapUpdate

REGION_SIZE = 1.0
"""Edge of the cubic regions the counts are given for, metres."""
MIN_OBJECT_VOXELS = 8


def summarize_update(update: MapUpdate, voxel_size: float) -> Message:
    """A ``map_update`` message: totals, per-region counts, and clusters that appeared or vanished.

    ``regions`` lists [i, j, k, added, removed] for every 1 m region with new or carved voxels;
    ``appeared`` lists connected clusters of at least 8 new or contradicted voxels, ``disappeared``
    those of carved voxels, with centroid and bounding box (world, metres). Voxels evicted to keep
    the memory budget were forgotten, not seen to be gone: they only count in ``evicted``.
    """
    gone = update.removed
    return Message("map_update", 0, {
        "obs_id": update.obs_id, "stamp": update.stamp,
        "added": int(update.added.size), "updated": int(update.updated.size),
        "removed": int(update.removed.size), "evicted": int(update.evicted.size),
        "contradicted": int(update.contradicted.size),
        "regions": _region_counts(update.added, gone, voxel_size),
        "appeared": _clusters(np.concatenate([update.added, update.contradicted]), voxel_size),
        "disappeared": _clusters(gone, voxel_size),
    })


def _region_counts(added: np.ndarray, removed: np.ndarray, voxel_size: float) -> list[list[int]]:
    both = np.concatenate([added, removed])
    if both.size == 0:
        return []
    regions = np.floor(voxel_keys.centers(both, voxel_size) / REGION_SIZE).astype(np.int64)
    cells, inverse = np.unique(voxel_keys.pack(regions), return_inverse=True)  # 1-D keys sort fast
    n_added = np.bincount(inverse[: added.size], minlength=cells.size)
    n_removed = np.bincount(inverse[added.size:], minlength=cells.size)
    return [[*map(int, c), int(a), int(r)] for c, a, r in zip(voxel_keys.unpack(cells), n_added, n_removed)]


def _clusters(keys: np.ndarray, voxel_size: float) -> list[dict]:
    if keys.size < MIN_OBJECT_VOXELS:
        return []
    labels = cluster_labels(keys)
    centers = voxel_keys.centers(keys, voxel_size)
    found = []
    for label in np.flatnonzero(np.bincount(labels) >= MIN_OBJECT_VOXELS):
        points = centers[labels == label]
        half = voxel_size / 2
        found.append({"centroid": points.mean(axis=0).tolist(), "bbox_min": (points.min(axis=0) - half).tolist(),
                      "bbox_max": (points.max(axis=0) + half).tolist(), "n_voxels": int(points.shape[0])})
    return found
