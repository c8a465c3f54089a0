"""The change feed: each applied frame summarised (counts per region, object-sized changes) and published."""

from __future__ import annotations

import numpy as np
import zmq

from mem3d.map import keys as voxel_keys
from mem3d.protocol.announcements import Cluster, MapUpdateAnnouncement, update_counts
from mem3d.protocol.wire import encode
from mem3d.query.localization import cluster_labels
from mem3d.types import MapUpdate

REGION_SIZE = 1.0
"""Edge of the cubic regions the counts are given for, metres."""
MIN_OBJECT_VOXELS = 8


class ChangePublisher:
    """The XPUB socket of the change feed; updates are summarised only while someone subscribes."""

    def __init__(self, socket: zmq.Socket, voxel_size: float) -> None:
        self.socket, self.voxel_size = socket, voxel_size
        self._subscribers = 0

    def count_subscribers(self) -> None:
        """Read the (un)subscriptions XPUB hands over."""
        while True:
            try:
                event = self.socket.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            if event[:1] == b"\x01":
                self._subscribers += 1
            elif event[:1] == b"\x00":
                self._subscribers = max(0, self._subscribers - 1)

    def announcement(self, update: MapUpdate) -> list[bytes] | None:
        """The message frames announcing ``update``; None while nobody listens. Touches no socket, so
        the ingest worker prepares it, off the thread that answers queries."""
        if not self._subscribers:
            return None
        summary = summarize_update(update, self.voxel_size)
        return [summary.TOPIC] + encode(summary.to_message())

    def send(self, frames: list[bytes] | None) -> None:
        """Publish an ``announcement``; dropped when there is none or a subscriber's queue is full."""
        if frames is None:
            return
        try:
            self.socket.send_multipart(frames, zmq.NOBLOCK)
        except zmq.Again:
            pass


def summarize_update(update: MapUpdate, voxel_size: float) -> MapUpdateAnnouncement:
    """The ``map_update`` announcement: totals, per-region counts, and clusters that appeared or vanished.

    ``regions`` lists [i, j, k, added, removed] for every 1 m region with new or carved voxels;
    ``appeared`` lists connected clusters of at least 8 new or contradicted voxels, ``disappeared``
    those of carved voxels, with centroid and bounding box (world, metres). Voxels evicted to keep
    the memory budget were forgotten, not seen to be gone: they only count in ``evicted``.
    """
    gone = update.removed
    return MapUpdateAnnouncement(
        obs_id=int(update.obs_id), stamp=float(update.stamp), **update_counts(update),
        regions=_region_counts(update.added, gone, voxel_size),
        appeared=_clusters(np.concatenate([update.added, update.contradicted]), voxel_size),
        disappeared=_clusters(gone, voxel_size))


def _region_counts(added: np.ndarray, removed: np.ndarray, voxel_size: float) -> tuple[tuple[int, ...], ...]:
    both = np.concatenate([added, removed])
    if both.size == 0:
        return ()
    regions = np.floor(voxel_keys.centers(both, voxel_size) / REGION_SIZE).astype(np.int64)
    cells, inverse = np.unique(voxel_keys.pack(regions), return_inverse=True)  # 1-D keys sort fast
    n_added = np.bincount(inverse[: added.size], minlength=cells.size)
    n_removed = np.bincount(inverse[added.size:], minlength=cells.size)
    return tuple((*map(int, c), int(a), int(r)) for c, a, r in zip(voxel_keys.unpack(cells), n_added, n_removed))


def _clusters(keys: np.ndarray, voxel_size: float) -> tuple[Cluster, ...]:
    if keys.size < MIN_OBJECT_VOXELS:
        return ()
    labels = cluster_labels(keys)
    centers = voxel_keys.centers(keys, voxel_size)
    found = []
    for label in np.flatnonzero(np.bincount(labels) >= MIN_OBJECT_VOXELS):
        points = centers[labels == label]
        half = voxel_size / 2
        found.append(Cluster(centroid=tuple(points.mean(axis=0).tolist()),
                             bbox_min=tuple((points.min(axis=0) - half).tolist()),
                             bbox_max=tuple((points.max(axis=0) + half).tolist()), n_voxels=int(points.shape[0])))
    return tuple(found)
