"""Published messages: the service's change feed and observation streams (see docs/protocol.md)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from mem3d.protocol.codec import Intrinsics, WireMessage
from mem3d.protocol.topics import MAP_UPDATE_TOPIC, OBSERVATION_TOPIC
from mem3d.protocol.wire import ErrorCode
from mem3d.types import MapUpdate

Vec3 = tuple[float, float, float]


class Announcement(WireMessage):
    """A message published on a topic, with id 0."""

    TOPIC: ClassVar[bytes]


@dataclass(frozen=True, kw_only=True)
class UpdateCounts:
    """How many voxels one applied frame changed (sent in ``ingest_ack`` and ``map_update``)."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    """Carved: the depth showed free space where they were."""
    evicted: int = 0
    """Dropped to stay within the memory budget (forgotten, not seen to be gone)."""
    contradicted: int = 0
    """Updated with features unlike before: something else may stand there now."""


def update_counts(update: MapUpdate) -> dict[str, int]:
    """The ``UpdateCounts`` fields of a map update, by name."""
    return {f.name: int(getattr(update, f.name).size) for f in fields(UpdateCounts)}


@dataclass(frozen=True, kw_only=True)
class Cluster:
    """A connected cluster (26-connected) of changed voxels: world frame, metres, z up."""

    centroid: Vec3
    bbox_min: Vec3
    bbox_max: Vec3
    """Box corners, voxel extents included."""
    n_voxels: int


@dataclass(frozen=True, kw_only=True)
class MapUpdateAnnouncement(UpdateCounts, Announcement):
    """One applied ingest, as the change feed announces it (``mem3d.service.changes.summarize_update``)."""

    TYPE: ClassVar[str] = "map_update"
    TOPIC: ClassVar[bytes] = MAP_UPDATE_TOPIC
    obs_id: int
    """The frame that caused the change."""
    stamp: float
    """Its capture time, seconds."""
    regions: tuple[tuple[int, int, int, int, int], ...]
    """(i, j, k, added, removed) per 1 m cube with new or carved voxels (i = floor(x / 1 m), ...)."""
    appeared: tuple[Cluster, ...]
    """Clusters of at least 8 new or contradicted voxels."""
    disappeared: tuple[Cluster, ...]
    """Clusters of at least 8 carved voxels."""


@dataclass(frozen=True, kw_only=True)
class ObservationAnnouncement(Announcement):
    """One camera observation of a robot or simulator stream (``messages.observation_to_message``)."""

    TYPE: ClassVar[str] = "observation"
    TOPIC: ClassVar[bytes] = OBSERVATION_TOPIC
    INVALID: ClassVar[ErrorCode] = ErrorCode.INVALID_INPUT
    stamp: float
    """Seconds."""
    obs_id: int
    """Increasing per source."""
    intrinsics: Intrinsics
    """fx, fy, cx, cy (pixels), width, height."""
    labels: tuple[tuple[int, str], ...] = ()
    """(semantic id, label text) pairs."""
    descriptions: tuple[tuple[int, str], ...] = ()
    """(semantic id, a few words describing the category) pairs."""
    rgb: np.ndarray
    """(H, W, 3) uint8."""
    depth: np.ndarray
    """(H, W) float32 z-depth, metres; 0 or non-finite = no measurement."""
    T_world_camera: np.ndarray
    """(4, 4) float64: world z up, camera OpenCV optical."""
    semantic: np.ndarray | None = None
    """(H, W) int32 semantic ids, 0 = none."""
    instance: np.ndarray | None = None
    """(H, W) int32 instance ids, 0 = none."""
