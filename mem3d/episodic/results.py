"""What episodic queries answer: frozen dataclasses of plain fields (they travel on the wire as they are).

World frame z up, metres; stamps in seconds; places and instances by their integer ids (-1 = none).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

Vec3 = tuple[float, float, float]
NO_PLACE = -1
NO_KEYFRAME = -1


class EventKind(str, Enum):
    SEEN = "seen"
    """The start of a sighting interval (the first one of an instance found where nothing was known)."""
    APPEARED = "appeared"
    """Found where an earlier keyframe had seen free space."""
    MOVED = "moved"
    """Gone from one place, a similar instance found elsewhere: ``from_place`` -> ``place``."""
    DISAPPEARED = "disappeared"
    """Its voxels were carved: the depth showed free space where it stood."""
    EVICTED = "evicted"
    """Its voxels were dropped to keep the memory budget: forgotten, not seen to be gone."""


CHANGE_KINDS = (EventKind.APPEARED, EventKind.MOVED, EventKind.DISAPPEARED)


@dataclass(frozen=True, kw_only=True)
class Event:
    kind: EventKind
    instance: int
    stamp: float
    """When the memory observed it, seconds."""
    obs_id: int
    place: int
    """Where the instance is (for ``moved``: its new place; for ``disappeared``: where it was)."""
    position: Vec3
    keyframe: int = NO_KEYFRAME
    """The keyframe that supports the event (-1: none was kept)."""
    from_place: int = NO_PLACE
    """``moved`` only: the place it left."""
    from_position: Vec3 | None = None
    """``moved`` only: where it stood before."""


@dataclass(frozen=True, kw_only=True)
class KeyframeRef:
    """A stored keyframe: its images come from ``EpisodicMemory.keyframe_images`` (or the service's
    ``keyframe_image`` request)."""

    id: int
    obs_id: int
    stamp: float
    place: int
    T_world_camera: tuple[float, ...]
    """16 values, row-major 4x4 (camera in world, OpenCV optical camera)."""
    intrinsics: tuple[float, float, float, float, int, int]
    """fx, fy, cx, cy (pixels), width, height of the stored images."""


@dataclass(frozen=True, kw_only=True)
class Sighting:
    """An instance as last seen (or as it was at a moment, for ``what_was_at``)."""

    instance: int
    position: Vec3
    """Centroid of its voxels, metres."""
    bbox_min: Vec3
    bbox_max: Vec3
    place: int
    stamp: float
    """When it was last seen there."""
    score: float
    """Cosine similarity to the query (1.0 when no query chose it)."""
    status: str
    """"present", "gone" (disappeared) or "forgotten" (evicted)."""
    keyframe: KeyframeRef | None = None
    """The latest keyframe in which it was seen."""


@dataclass(frozen=True, kw_only=True)
class Interval:
    start: float
    end: float
    """Seconds; a single sighting has start == end."""
    place: int


@dataclass(frozen=True, kw_only=True)
class Route:
    found: bool
    places: tuple[int, ...]
    """From the first place to the last, along travelled edges (empty when not found)."""
    length_m: float
    """Sum of the travelled path lengths of its edges (0 when not found)."""


@dataclass(frozen=True, kw_only=True)
class PlaceInfo:
    id: int
    name: str
    center: Vec3
    """The camera position that founded it."""
    extent_min: Vec3
    extent_max: Vec3
    """Box of the camera positions assigned to it, grown by the place radius (z: camera height)."""
    last_visited: float
    n_keyframes: int
    instances: tuple[tuple[int, float], ...]
    """(instance, last seen from here) pairs."""
