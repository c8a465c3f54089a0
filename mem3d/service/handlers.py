"""Answers to the requests endpoint: ping, stats, localize, occupancy, save, shutdown and the episodic
queries (``episodic_handlers``), one typed reply each.

Every request is decoded defensively; a bad one gets an ``ErrorReply`` and changes nothing. Queries
read the service's replica of the map (``mem3d.service.replica``), which frames being applied never
touch, and the traversability grid kept beside it (updated with the same frames); replies say which
frame the answer reflects (``seq``) and how many applied frames it trails.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from mem3d import __version__
from mem3d.encoder import TextEncoder
from mem3d.errors import Mem3dError, NotAvailableError
from mem3d.nav.traversability import TraversabilityGrid
from mem3d.protocol.replies import (
    ErrorReply,
    LocalizeReply,
    OccupancyReply,
    Pong,
    Reply,
    SaveReply,
    ShutdownAck,
    StatsReply,
)
from mem3d.protocol.requests import (
    IngestRequest,
    LocalizeRequest,
    OccupancyRequest,
    PingRequest,
    Request,
    SaveRequest,
    ShutdownRequest,
    StatsRequest,
    require_query_text,
)
from mem3d.protocol.wire import ErrorCode, ProtocolError, decode
from mem3d.query.terms import query_terms
from mem3d.service.durable import DurableMemory
from mem3d.service.episodic_handlers import EpisodicHandlers
from mem3d.service.replica import MapReplica

log = logging.getLogger("mem3d.service")


class ServiceControl(Protocol):
    """What the handlers need from the service loop."""

    @property
    def frames_ingested(self) -> int: ...

    @property
    def applied_seq(self) -> int:
        """Log sequence number of the newest frame applied to the map (the replica may trail it)."""
        ...

    def save_now(self) -> str:
        """Apply every logged ingest and write a checkpoint now; its name."""
        ...

    def stop(self) -> None: ...


class RequestHandlers:
    def __init__(self, memory: DurableMemory, replica: MapReplica, encoder: TextEncoder | None,
                 control: ServiceControl, traversability: Callable[[], TraversabilityGrid]) -> None:
        """``traversability`` returns the current grid (the service may rebuild it)."""
        self.memory, self.replica, self.encoder, self.control = memory, replica, encoder, control
        self.traversability = traversability
        self._started = time.time()
        self._handlers: dict[str, tuple[type[Request], Callable[[Any], Reply]]] = {
            kind.TYPE: (kind, handler) for kind, handler in (
                (PingRequest, self.ping), (StatsRequest, self.stats), (LocalizeRequest, self.localize),
                (OccupancyRequest, self.occupancy), (SaveRequest, self.save), (ShutdownRequest, self.shutdown))}
        self._handlers.update(EpisodicHandlers(memory.episodic, self._embed_with_threshold).table())

    def handle(self, frames: list[bytes]) -> tuple[int, Reply]:
        """(request id, reply) for one request's frames; errors become ``ErrorReply``s."""
        request_id = 0
        try:
            message = decode(frames)
            request_id = message.id
            if message.type not in self._handlers:
                if message.type == IngestRequest.TYPE:
                    raise ProtocolError(ErrorCode.UNKNOWN_TYPE, "send ingests to the ingest endpoint")
                raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown request type {message.type!r}")
            kind, handler = self._handlers[message.type]
            return request_id, handler(kind.from_message(message))
        except ProtocolError as error:
            return request_id or error.request_id, ErrorReply.of(error)
        except Mem3dError as error:
            return request_id, ErrorReply.of(error)
        except Exception as error:  # a bug must not take the service down
            log.exception("internal error while handling a request")
            return request_id, ErrorReply.of(error)

    def ping(self, request: PingRequest) -> Pong:
        return Pong(server="mem3d", version=__version__)

    def stats(self, request: StatsRequest) -> StatsReply:
        replica, config = self.replica, self.replica.config
        return StatsReply(
            n_voxels=len(replica), feature_dim=config.feature_dim, feature_model=config.feature_model,
            voxel_size=config.voxel_size, map_bytes=self.memory.map.nbytes(), log_seq=self.memory.seq,
            frames_ingested=self.control.frames_ingested, frames_since_checkpoint=self.memory.frames_since_checkpoint,
            last_checkpoint=self.memory.last_checkpoint, uptime_s=time.time() - self._started,
            text_queries=self.encoder is not None, seq=replica.seq,
            text_cache_hits=getattr(self.encoder, "hits", 0), text_cache_misses=getattr(self.encoder, "misses", 0))

    def localize(self, request: LocalizeRequest) -> LocalizeReply:
        if (request.text is None) == (request.embedding is None):
            raise ProtocolError(ErrorCode.INVALID_INPUT, "localize needs exactly one of 'text' or 'embedding'")
        if not 1 <= request.top_k <= 100:
            raise ProtocolError(ErrorCode.INVALID_INPUT, f"top_k must be in [1, 100], got {request.top_k}")
        embedding, threshold, terms = request.embedding, request.threshold, None
        if request.text is not None:
            embedding = self._embed(request.text)
            terms = query_terms(self.encoder, request.text)  # type: ignore[arg-type]
            threshold = threshold if threshold is not None else self.encoder.info.match_threshold
        result = self.replica.localize(np.asarray(embedding), top_k=request.top_k, threshold=threshold, terms=terms)
        return LocalizeReply.from_result(result, seq=self.replica.seq, applied_seq=self.control.applied_seq)

    def occupancy(self, request: OccupancyRequest) -> OccupancyReply:
        if request.since_seq < 0:
            raise ProtocolError(ErrorCode.INVALID_INPUT, f"since_seq must be >= 0, got {request.since_seq}")
        grid = self.traversability().occupancy(request.region, request.since_seq)
        return OccupancyReply.from_grid(grid, applied_seq=self.control.applied_seq)

    def _embed(self, text: str) -> np.ndarray:
        """The (D,) embedding of a query text: the text is checked first, then the encoder asked (through
        its cache: ``mem3d serve`` gives the service a ``TextEmbeddingCache``)."""
        require_query_text(text)
        if self.encoder is None:
            raise NotAvailableError("this service has no text encoder: send an embedding, or start it with "
                                    "--encoder NAME")
        return self.encoder.encode_text([text])[0]

    def _embed_with_threshold(self, text: str) -> tuple[np.ndarray, float]:
        embedding = self._embed(text)
        return embedding, self.encoder.info.match_threshold

    def save(self, request: SaveRequest) -> SaveReply:
        checkpoint = self.control.save_now()
        return SaveReply(checkpoint=checkpoint, n_voxels=len(self.replica))

    def shutdown(self, request: ShutdownRequest) -> ShutdownAck:
        self.control.stop()
        return ShutdownAck()
