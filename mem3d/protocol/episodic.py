"""Requests and replies of the episodic memory's queries (requests endpoint; see docs/protocol.md).

The answers are the core's result dataclasses (``mem3d.episodic.results``), which travel as nested
maps. Every reply carries ``seq``: the write-ahead log sequence number of the newest frame the
episodic memory had recorded when it answered (the answer sees it exactly as after that frame).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from mem3d.episodic.results import Event, Interval, KeyframeRef, PlaceInfo, Sighting, Vec3
from mem3d.protocol.replies import Reply
from mem3d.protocol.requests import Request


@dataclass(frozen=True, kw_only=True)
class WhereLastSeenReply(Reply):
    TYPE: ClassVar[str] = "where_last_seen_result"
    found: bool
    sighting: Sighting | None = None
    """Where and when it was last seen, with its keyframe (nil when not found)."""
    seq: int = 0


@dataclass(frozen=True, kw_only=True)
class HistoryReply(Reply):
    TYPE: ClassVar[str] = "history_result"
    found: bool
    instance: int
    """The instance the query matched (-1 when not found)."""
    events: tuple[Event, ...]
    seq: int = 0


@dataclass(frozen=True, kw_only=True)
class WhenSeenReply(Reply):
    TYPE: ClassVar[str] = "when_seen_result"
    found: bool
    instance: int
    intervals: tuple[Interval, ...]
    seq: int = 0


@dataclass(frozen=True, kw_only=True)
class ChangesReply(Reply):
    TYPE: ClassVar[str] = "changes_result"
    events: tuple[Event, ...]
    """appeared / moved / disappeared events, oldest first."""
    seq: int = 0


@dataclass(frozen=True, kw_only=True)
class WhatWasAtReply(Reply):
    TYPE: ClassVar[str] = "what_was_at_result"
    instances: tuple[Sighting, ...]
    seq: int = 0


@dataclass(frozen=True, kw_only=True)
class RouteReply(Reply):
    TYPE: ClassVar[str] = "route_result"
    found: bool
    places: tuple[int, ...]
    length_m: float
    seq: int = 0


@dataclass(frozen=True, kw_only=True)
class PlacesReply(Reply):
    TYPE: ClassVar[str] = "places_result"
    places: tuple[PlaceInfo, ...]
    edges: tuple[tuple[int, int, float], ...]
    """(place a, place b, travelled length in metres) per edge."""
    seq: int = 0


@dataclass(frozen=True, kw_only=True)
class KeyframeImageReply(Reply):
    TYPE: ClassVar[str] = "keyframe_image_result"
    keyframe: KeyframeRef
    rgb_jpeg: np.ndarray
    """uint8 bytes of the JPEG (empty when the frame carried no image)."""
    depth_png: np.ndarray
    """uint8 bytes of the 16-bit PNG, depth in millimetres."""


@dataclass(frozen=True, kw_only=True)
class ConceptQuery:
    """What to look for: exactly one of ``text`` (a service with a text encoder) and ``embedding``."""

    text: str | None = None
    embedding: np.ndarray | None = None
    threshold: float | None = None
    """Cosine similarity in [-1, 1]; None = the encoder's (text) or the memory's (embedding)."""


@dataclass(frozen=True, kw_only=True)
class WhereLastSeenRequest(ConceptQuery, Request):
    TYPE: ClassVar[str] = "where_last_seen"
    REPLY: ClassVar[type[Reply]] = WhereLastSeenReply


@dataclass(frozen=True, kw_only=True)
class HistoryRequest(ConceptQuery, Request):
    TYPE: ClassVar[str] = "history"
    REPLY: ClassVar[type[Reply]] = HistoryReply


@dataclass(frozen=True, kw_only=True)
class WhenSeenRequest(ConceptQuery, Request):
    TYPE: ClassVar[str] = "when_seen"
    REPLY: ClassVar[type[Reply]] = WhenSeenReply


@dataclass(frozen=True, kw_only=True)
class ChangesSinceRequest(Request):
    TYPE: ClassVar[str] = "changes_since"
    REPLY: ClassVar[type[Reply]] = ChangesReply
    stamp: float
    """Seconds: changes observed after it."""
    place: int | None = None


@dataclass(frozen=True, kw_only=True)
class WhatWasAtRequest(Request):
    TYPE: ClassVar[str] = "what_was_at"
    REPLY: ClassVar[type[Reply]] = WhatWasAtReply
    stamp: float
    place: int | None = None
    region_min: Vec3 | None = None
    region_max: Vec3 | None = None
    """Exactly one of ``place`` and the box (``region_min``, ``region_max``), world metres."""


@dataclass(frozen=True, kw_only=True)
class RouteRequest(Request):
    TYPE: ClassVar[str] = "route"
    REPLY: ClassVar[type[Reply]] = RouteReply
    from_place: int
    to_place: int


@dataclass(frozen=True, kw_only=True)
class PlacesRequest(Request):
    TYPE: ClassVar[str] = "places"
    REPLY: ClassVar[type[Reply]] = PlacesReply


@dataclass(frozen=True, kw_only=True)
class KeyframeImageRequest(Request):
    TYPE: ClassVar[str] = "keyframe_image"
    REPLY: ClassVar[type[Reply]] = KeyframeImageReply
    keyframe: int
