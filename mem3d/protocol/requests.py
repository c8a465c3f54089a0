"""Requests to the memory service, one dataclass per request type, each naming its reply type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from mem3d.errors import InvalidInputError
from mem3d.protocol.codec import Intrinsics, WireMessage
from mem3d.protocol.replies import (
    IngestAck,
    LocalizeReply,
    OccupancyReply,
    Pong,
    Reply,
    SaveReply,
    ShutdownAck,
    StatsReply,
)
from mem3d.protocol.wire import ErrorCode

MAX_TEXT_CHARS = 1000
"""Longest ``localize`` text, in characters (Unicode code points)."""


class Request(WireMessage):
    """A message a client sends; the service answers it with a ``REPLY`` or an ``ErrorReply``."""

    INVALID: ClassVar[ErrorCode] = ErrorCode.INVALID_INPUT
    REPLY: ClassVar[type[Reply]]


@dataclass(frozen=True, kw_only=True)
class PingRequest(Request):
    TYPE: ClassVar[str] = "ping"
    REPLY: ClassVar[type[Reply]] = Pong


@dataclass(frozen=True, kw_only=True)
class StatsRequest(Request):
    TYPE: ClassVar[str] = "stats"
    REPLY: ClassVar[type[Reply]] = StatsReply


@dataclass(frozen=True, kw_only=True)
class LocalizeRequest(Request):
    """Where is it? Exactly one of ``text`` (a service with a text encoder) and ``embedding``."""

    TYPE: ClassVar[str] = "localize"
    REPLY: ClassVar[type[Reply]] = LocalizeReply
    text: str | None = None
    """1 to ``MAX_TEXT_CHARS`` characters, not all whitespace (``require_query_text``)."""
    top_k: int = 5
    """Candidates at most, in [1, 100]."""
    threshold: float | None = None
    """Cosine similarity in [-1, 1]; None = the memory's calibrated threshold."""
    embedding: np.ndarray | None = None
    """(D,) float feature of the memory's dimension (any non-zero norm; it is normalised)."""


def require_query_text(text: str) -> str:
    """``text`` if it is a valid query: 1 to ``MAX_TEXT_CHARS`` characters, at least one of them not
    whitespace (Python's ``str.isspace``: Unicode White_Space); else ``InvalidInputError``."""
    if not 1 <= len(text) <= MAX_TEXT_CHARS:
        raise InvalidInputError(f"text must have 1 to {MAX_TEXT_CHARS} characters, got {len(text)}")
    if text.isspace():
        raise InvalidInputError("text must not be blank (only whitespace)")
    return text


@dataclass(frozen=True, kw_only=True)
class OccupancyRequest(Request):
    """Where can the robot go? A window of the traversability grid (``mem3d.nav``)."""

    TYPE: ClassVar[str] = "occupancy"
    REPLY: ClassVar[type[Reply]] = OccupancyReply
    region: tuple[float, float, float, float] | None = None
    """(xmin, ymin, xmax, ymax) world metres, finite, min <= max; None = the whole grid."""
    since_seq: int = 0
    """> 0: only the bounding box (within ``region``) of the cells changed after that frame."""


@dataclass(frozen=True, kw_only=True)
class SaveRequest(Request):
    TYPE: ClassVar[str] = "save"
    REPLY: ClassVar[type[Reply]] = SaveReply


@dataclass(frozen=True, kw_only=True)
class ShutdownRequest(Request):
    TYPE: ClassVar[str] = "shutdown"
    REPLY: ClassVar[type[Reply]] = ShutdownAck


@dataclass(frozen=True, kw_only=True)
class IngestRequest(Request):
    """A feature frame for the memory (ingest endpoint); shapes and values are checked by the map."""

    TYPE: ClassVar[str] = "ingest"
    REPLY: ClassVar[type[Reply]] = IngestAck
    source: str
    """Names the sender, for deduplication: 1 to 256 characters."""
    obs_id: int
    """Increasing per source, in [0, 2^63)."""
    stamp: float
    """Capture time, seconds."""
    feature_model: str = ""
    """Must equal the memory's model when the memory names one."""
    intrinsics: Intrinsics | None = None
    """fx, fy, cx, cy (pixels), width, height of ``depth``; required with it."""
    points: np.ndarray
    """(N, 3) float32 world points, metres."""
    colors: np.ndarray
    """(N, 3) uint8 RGB."""
    features: np.ndarray
    """(K, D) float16 or float32 L2-normalised feature palette."""
    feature_index: np.ndarray
    """(N,) int32 or int64 palette row of each point."""
    T_world_camera: np.ndarray
    """(4, 4) float64 rigid camera pose at capture."""
    depth: np.ndarray | None = None
    """(height, width) float32 z-depth for carving, metres, finite, >= 0, 0 = no measurement."""
    rgb: np.ndarray | None = None
    """(height, width, 3) uint8 RGB of the same view as ``depth``: kept if the frame becomes a keyframe."""

