"""Replies of the memory service, one dataclass per reply type (see docs/protocol.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mem3d.errors import InvalidInputError, Mem3dError, NotAvailableError, SchemaMismatchError
from mem3d.protocol.announcements import UpdateCounts
from mem3d.protocol.codec import WireMessage
from mem3d.protocol.wire import ErrorCode, ProtocolError
from mem3d.types import Candidate, LocalizeResult


class Reply(WireMessage):
    """The answer to one request; it carries the request's id."""


@dataclass(frozen=True, kw_only=True)
class Pong(Reply):
    TYPE: ClassVar[str] = "pong"
    server: str
    """Always "mem3d"."""
    version: str
    """The service's mem3d version."""


@dataclass(frozen=True, kw_only=True)
class StatsReply(Reply):
    """The state of the memory and the service."""

    TYPE: ClassVar[str] = "stats_result"
    n_voxels: int
    feature_dim: int
    feature_model: str
    voxel_size: float
    """Metres."""
    map_bytes: int
    log_seq: int
    """Last write-ahead log sequence number."""
    frames_ingested: int
    """Since the service started."""
    frames_since_checkpoint: int
    last_checkpoint: str | None
    """Name of the newest checkpoint; None before the first."""
    uptime_s: float
    text_queries: bool
    """Whether ``localize`` accepts ``text`` (the service has a text encoder)."""
    seq: int = 0
    """Log sequence number of the newest frame ``n_voxels`` reflects (0 = none yet)."""
    text_cache_hits: int = 0
    """Query texts answered from the service's embedding cache since it started."""
    text_cache_misses: int = 0
    """Query texts the encoder had to embed (0 with no cache or no encoder)."""


@dataclass(frozen=True, kw_only=True)
class LocalizeReply(Reply):
    """Ranked candidates for a ``localize`` request; no candidates means "not found": explore."""

    TYPE: ClassVar[str] = "localize_result"
    found: bool
    threshold: float
    """The cosine similarity voxels had to reach."""
    n_matching_voxels: int
    """Voxels at or above it."""
    candidates: tuple[Candidate, ...]
    """Best first, at most ``top_k``."""
    seq: int = 0
    """Log sequence number of the newest frame the answer reflects: the answer sees the memory exactly
    as it was after that frame (0 = no frame yet)."""
    applied_seq: int = 0
    """The newest frame applied when the answer was sent: the answer trails ``applied_seq - seq`` frames."""

    @classmethod
    def from_result(cls, result: LocalizeResult, seq: int = 0, applied_seq: int = 0) -> LocalizeReply:
        return cls(found=result.found, threshold=result.threshold, n_matching_voxels=result.n_matching_voxels,
                   candidates=result.candidates, seq=seq, applied_seq=applied_seq)

    def to_result(self) -> LocalizeResult:
        return LocalizeResult(self.candidates, self.threshold, self.n_matching_voxels)


@dataclass(frozen=True, kw_only=True)
class SaveReply(Reply):
    TYPE: ClassVar[str] = "save_result"
    checkpoint: str
    """Name of the checkpoint written."""
    n_voxels: int


@dataclass(frozen=True, kw_only=True)
class ShutdownAck(Reply):
    """Sent before the service writes a checkpoint and exits."""

    TYPE: ClassVar[str] = "shutdown_ack"


@dataclass(frozen=True, kw_only=True)
class IngestAck(UpdateCounts, Reply):
    """A frame is durable: in the write-ahead log, fsynced, and applied (the counts are zero for a duplicate)."""

    TYPE: ClassVar[str] = "ingest_ack"
    obs_id: int
    seq: int
    """Position in the write-ahead log; 0 for a duplicate."""
    duplicate: bool
    """True when a frame with this ``obs_id`` from the same source was applied before (not applied again)."""


@dataclass(frozen=True, kw_only=True)
class ErrorReply(Reply):
    """The request was refused (or failed); nothing changed, see docs/protocol.md "Errors"."""

    TYPE: ClassVar[str] = "error"
    code: ErrorCode
    message: str
    """Human readable."""

    @classmethod
    def of(cls, error: Exception) -> ErrorReply:
        """The reply for an error raised while serving a request: mem3d errors keep their message."""
        if isinstance(error, Mem3dError):
            return cls(code=error_code(error), message=str(error))
        return cls(code=ErrorCode.INTERNAL, message=f"internal error: {error}")


def error_code(error: Exception) -> ErrorCode:
    """The protocol's code for an error."""
    if isinstance(error, ProtocolError):
        return error.code
    if isinstance(error, SchemaMismatchError):
        return ErrorCode.SCHEMA_MISMATCH
    if isinstance(error, NotAvailableError):
        return ErrorCode.NOT_AVAILABLE
    if isinstance(error, InvalidInputError):
        return ErrorCode.INVALID_INPUT
    return ErrorCode.INTERNAL
