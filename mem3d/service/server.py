"""The memory service: one process owning one memory, serving it over ZeroMQ.

Sockets (all bound, default loopback only):
- requests (ROUTER): ping, stats, localize, save, shutdown; DEALER or REQ clients.
- ingest (ROUTER): feature frames, each acknowledged once it is durable (``DurableMemory``).
- changes (XPUB): a ``map.update`` message per applied frame, for planners that react to change
  (summarised only while someone is subscribed).

One thread serves both ROUTER sockets, draining each in turn, so queries interleave with ingest
batches. Every message is decoded defensively; a bad one gets an ``error`` reply and changes nothing.
"""

from __future__ import annotations

import logging
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import zmq

from mem3d import __version__
from mem3d.comms.auth import CurveServerConfig, secure_server_socket, start_authenticator
from mem3d.errors import InvalidInputError, Mem3dError, NotAvailableError, SchemaMismatchError
from mem3d.protocol import messages
from mem3d.protocol.wire import ErrorCode, Message, ProtocolError, decode, encode
from mem3d.query.localization import LocalizeConfig
from mem3d.service.changes import summarize_update
from mem3d.service.durable import DurableMemory, IncrementalStep, Ingest, IngestOutcome, Logged
from mem3d.voxel_map import MapConfig

log = logging.getLogger("mem3d.service")
BATCH = 16
POLL_MS = 50


@dataclass(frozen=True)
class ServiceConfig:
    store: str
    """Directory of the memory (checkpoints and write-ahead log); created if missing."""
    bind: str = "tcp://127.0.0.1:5555"
    """Request endpoint (ROUTER)."""
    ingest_bind: str = "tcp://127.0.0.1:5556"
    publish_bind: str = "tcp://127.0.0.1:5557"
    map: MapConfig | None = None
    """For a new store; None = the encoder's dimension and model with default settings."""
    encoder: str | None = None
    """Registry name of a text encoder (``perception.encoders``) for text queries; None = embeddings only."""
    checkpoint_every_frames: int = 500
    checkpoint_every_s: float = 300.0
    curve: CurveServerConfig | None = None
    encoder_options: dict = field(default_factory=dict)


class MemoryService:
    """Binds the sockets and serves until ``shutdown`` (a request, SIGTERM/SIGINT or ``stop``)."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self._encoder = _load_encoder(config)
        map_config = config.map
        if map_config is None and self._encoder is not None:
            info = self._encoder.info
            map_config = MapConfig(feature_dim=info.feature_dim, feature_model=info.model_id,
                                   localize=LocalizeConfig(threshold=info.match_threshold))
        self.memory = DurableMemory(Path(config.store), map_config)
        if self._encoder is not None:
            self._encoder.info.require_compatible(self.memory.map.feature_dim, self.memory.map.config.feature_model)
        self._context = zmq.Context()
        self._authenticator = (start_authenticator(self._context, config.curve)
                               if config.curve is not None else None)
        self._requests = self._bind(zmq.ROUTER, config.bind)
        self._ingest = self._bind(zmq.ROUTER, config.ingest_bind)
        self._publisher = self._bind(zmq.XPUB, config.publish_bind)
        self._subscribers = 0
        self.endpoints = {name: socket.getsockopt_string(zmq.LAST_ENDPOINT) for name, socket in
                          (("requests", self._requests), ("ingest", self._ingest), ("changes", self._publisher))}
        """The bound endpoints (useful with ``tcp://127.0.0.1:*``, which picks free ports)."""
        self._running = False
        self._pending: deque[tuple[list[bytes], int, Logged]] = deque()
        self._copying: IncrementalStep | None = None
        """A column copy (growth or checkpoint snapshot) done a chunk per loop; frames wait for it."""
        self._last_checkpoint_time = time.monotonic()
        self._started = time.time()
        self.frames_ingested = 0
        self._handlers: dict[str, Callable[[Message], Message]] = {
            "ping": self._ping, "stats": self._stats, "localize": self._localize, "save": self._save,
            "shutdown": self._shutdown}

    def _bind(self, kind: int, endpoint: str) -> zmq.Socket:
        socket = self._context.socket(kind)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.MAXMSGSIZE, 2 * (256 << 20))  # hard cap; the decoder enforces 256 MiB
        socket.setsockopt(zmq.SNDHWM, 1000)
        if self.config.curve is not None:
            secure_server_socket(socket, self.config.curve)
        socket.bind(endpoint)
        return socket

    # --- the loop -------------------------------------------------------------------------

    def serve_forever(self) -> None:
        """Serve until shutdown; SIGTERM and SIGINT shut down cleanly (checkpoint, close)."""
        previous = {sig: signal.signal(sig, lambda *_: self.stop()) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def run(self) -> None:
        poller = zmq.Poller()
        poller.register(self._requests, zmq.POLLIN)
        poller.register(self._ingest, zmq.POLLIN)
        poller.register(self._publisher, zmq.POLLIN)
        self._running = True
        log.info("serving %d voxels from %s on %s (ingest %s, changes %s)", len(self.memory.map),
                 self.config.store, self.endpoints["requests"], self.endpoints["ingest"], self.endpoints["changes"])
        try:
            while self._running:
                busy = self._pending or self._copying is not None
                ready = dict(poller.poll(0 if busy else POLL_MS))
                if self._ingest in ready and not self._pending:
                    self._serve_ingest_batch()
                if self._copying is not None:  # a chunk of copying instead of a frame: queries go on
                    if self._copying.step():
                        self._copying = None
                elif self._pending:
                    self._copying = self.memory.begin_growth(self._pending[0][2].item.frame.n_points)
                    if self._copying is None:
                        self._apply_next()
                for _ in range(BATCH):  # queries wait for at most one frame being applied
                    if not self._serve_request():
                        break
                if self._publisher in ready:
                    self._count_subscribers()
                self._maybe_checkpoint()
        finally:
            self.close()

    def stop(self) -> None:
        self._running = False

    def close(self) -> None:
        if self._requests.closed:
            return
        self._apply_all()  # logged ingests are acknowledged before the sockets go
        for socket in (self._requests, self._ingest, self._publisher):
            socket.close(linger=500)  # long enough for the last replies (a shutdown_ack) to leave
        if self._authenticator is not None:
            self._authenticator.stop()
        self._context.term()
        self.memory.close(checkpoint=True)

    # --- requests --------------------------------------------------------------------------

    def _serve_request(self) -> bool:
        try:
            raw = self._requests.recv_multipart(zmq.NOBLOCK, copy=True)
        except zmq.Again:
            return False
        envelope, frames = _split_envelope(raw)
        reply = self._handle(frames)
        _send(self._requests, envelope, reply)
        return True

    def _handle(self, frames: list[bytes]) -> Message:
        request_id = 0
        try:
            message = decode(frames)
            request_id = message.id
            handler = self._handlers.get(message.type)
            if handler is None:
                if message.type == "ingest":
                    raise ProtocolError(ErrorCode.UNKNOWN_TYPE, "send ingests to the ingest endpoint")
                raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown request type {message.type!r}")
            return handler(message)
        except ProtocolError as error:
            return messages.error_message(request_id or error.request_id, error.code, str(error))
        except Mem3dError as error:
            return messages.error_message(request_id, _code_of(error), str(error))
        except Exception as error:  # a bug must not take the service down
            log.exception("internal error while handling a request")
            return messages.error_message(request_id, ErrorCode.INTERNAL, f"internal error: {error}")

    def _ping(self, message: Message) -> Message:
        return Message("pong", message.id, {"server": "mem3d", "version": __version__})

    def _stats(self, message: Message) -> Message:
        voxel_map = self.memory.map
        return Message("stats_result", message.id, {
            "n_voxels": len(voxel_map), "feature_dim": voxel_map.feature_dim,
            "feature_model": voxel_map.config.feature_model, "voxel_size": voxel_map.voxel_size,
            "map_bytes": voxel_map.nbytes(), "log_seq": self.memory.seq,
            "frames_ingested": self.frames_ingested, "frames_since_checkpoint": self.memory.frames_since_checkpoint,
            "last_checkpoint": self.memory.last_checkpoint, "uptime_s": time.time() - self._started,
            "text_queries": self._encoder is not None})

    def _localize(self, message: Message) -> Message:
        text = messages.field(message.fields, "text", str, None)
        embedding = messages.array(message, "embedding", required=False)
        top_k = messages.field(message.fields, "top_k", int, 5)
        threshold = messages.field(message.fields, "threshold", float, None)
        if (text is None) == (embedding is None):
            raise ProtocolError(ErrorCode.INVALID_INPUT, "localize needs exactly one of 'text' or 'embedding'")
        if not 1 <= top_k <= 100:
            raise ProtocolError(ErrorCode.INVALID_INPUT, f"top_k must be in [1, 100], got {top_k}")
        if text is not None:
            embedding = self._embed(text)
            threshold = threshold if threshold is not None else self._encoder.info.match_threshold
        result = self.memory.map.localize(np.asarray(embedding), top_k=top_k, threshold=threshold)
        return messages.result_to_message(result, message.id)

    def _embed(self, text: str) -> np.ndarray:
        if self._encoder is None:
            raise NotAvailableError("this service has no text encoder: send an embedding, or start it with "
                                    "--encoder NAME")
        if not text.strip() or len(text) > 1000:
            raise InvalidInputError("text must be 1 to 1000 characters, not blank")
        return self._encoder.encode_text([text])[0]

    def _save(self, message: Message) -> Message:
        self._apply_all()
        name = self.memory.checkpoint(wait=True)
        self._last_checkpoint_time = time.monotonic()
        return Message("save_result", message.id, {"checkpoint": name, "n_voxels": len(self.memory.map)})

    def _shutdown(self, message: Message) -> Message:
        self.stop()
        return Message("shutdown_ack", message.id, {})

    # --- ingest ----------------------------------------------------------------------------

    def _serve_ingest_batch(self) -> None:
        """Receive waiting ingests, refuse the bad ones, and log the rest durably (one fsync)."""
        received: list[tuple[list[bytes], int, Ingest]] = []
        for _ in range(BATCH):
            try:
                raw = self._ingest.recv_multipart(zmq.NOBLOCK, copy=True)
            except zmq.Again:
                break
            envelope, frames = _split_envelope(raw)
            request_id = 0
            try:
                message = decode(frames)
                request_id = message.id
                if message.type != "ingest":
                    raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"the ingest endpoint takes only 'ingest', "
                                                                f"got {message.type!r}")
                frame, source = messages.message_to_frame(message)
                received.append((envelope, request_id, Ingest(frames, frame, source)))
            except ProtocolError as error:
                _send(self._ingest, envelope,
                      messages.error_message(request_id or error.request_id, error.code, str(error)))
            except Exception as error:  # a bug must not take the service down; nothing was logged
                log.exception("internal error while reading an ingest")
                _send(self._ingest, envelope,
                      messages.error_message(request_id, ErrorCode.INTERNAL, f"internal error: {error}"))
        if not received:
            return
        outcomes, logged = self.memory.log([item for _, _, item in received])
        for (envelope, request_id, item), outcome in zip(received, outcomes):
            if isinstance(outcome, IngestOutcome):  # a duplicate
                _send(self._ingest, envelope, Message("ingest_ack", request_id, {
                    "obs_id": item.frame.obs_id, "seq": 0, "duplicate": True}))
            elif outcome is not None:
                _send(self._ingest, envelope, messages.error_message(request_id, _code_of(outcome), str(outcome)))
        self._pending.extend((received[entry.index][0], received[entry.index][1], entry) for entry in logged)

    def _apply_next(self) -> None:
        """Apply the oldest logged ingest and acknowledge it (queries are served between two of these)."""
        envelope, request_id, entry = self._pending.popleft()
        try:
            outcome = self.memory.apply(entry)
        except Exception as error:  # unreachable for checked frames; a bug must not stop the service
            log.exception("internal error while applying ingest %d", entry.seq)
            _send(self._ingest, envelope,
                  messages.error_message(request_id, ErrorCode.INTERNAL, f"internal error: {error}"))
            return
        self.frames_ingested += 1
        fields = {"obs_id": entry.item.frame.obs_id, "seq": outcome.seq, "duplicate": False,
                  **messages.update_fields(outcome.update)}
        _send(self._ingest, envelope, Message("ingest_ack", request_id, fields))
        self._publish(outcome.update)

    def _apply_all(self) -> None:
        if self._copying is not None:
            self._copying.run()
            self._copying = None
        while self._pending:
            self._apply_next()

    def _count_subscribers(self) -> None:
        """XPUB hands us (un)subscriptions: the change feed is summarised only while someone listens."""
        while True:
            try:
                event = self._publisher.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            if event[:1] == b"\x01":
                self._subscribers += 1
            elif event[:1] == b"\x00":
                self._subscribers = max(0, self._subscribers - 1)

    def _publish(self, update) -> None:
        if not self._subscribers:
            return
        summary = summarize_update(update, self.memory.map.voxel_size)
        try:
            self._publisher.send_multipart([messages.MAP_UPDATE_TOPIC] + encode(summary), zmq.NOBLOCK)
        except zmq.Again:
            pass

    def _maybe_checkpoint(self) -> None:
        due = (self.memory.frames_since_checkpoint >= self.config.checkpoint_every_frames
               or (self.memory.frames_since_checkpoint
                   and time.monotonic() - self._last_checkpoint_time >= self.config.checkpoint_every_s))
        if due and not self.memory.saving and not self._pending and self._copying is None:
            self._copying = self.memory.begin_checkpoint()  # copied between queries, then written
            self._last_checkpoint_time = time.monotonic()


def _split_envelope(raw: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """ROUTER frames -> (routing envelope, message frames); a REQ peer adds an empty delimiter."""
    if len(raw) > 1 and raw[1] == b"":
        return raw[:2], raw[2:]
    return raw[:1], raw[1:]


def _send(socket: zmq.Socket, envelope: list[bytes], message: Message) -> None:
    """Reply without ever blocking: a vanished client's reply is dropped by the ROUTER."""
    try:
        socket.send_multipart(envelope + encode(message), zmq.NOBLOCK, copy=False)
    except zmq.Again:
        log.warning("dropped a reply: the client is not reading")


def _code_of(error: Exception) -> ErrorCode:
    if isinstance(error, SchemaMismatchError):
        return ErrorCode.SCHEMA_MISMATCH
    if isinstance(error, NotAvailableError):
        return ErrorCode.NOT_AVAILABLE
    if isinstance(error, InvalidInputError):
        return ErrorCode.INVALID_INPUT
    return ErrorCode.INTERNAL


def _load_encoder(config: ServiceConfig):
    if config.encoder is None:
        return None
    from mem3d.encoder import create_encoder  # torch loads only when a text encoder is wanted
    log.info("loading text encoder %s", config.encoder)
    return create_encoder(config.encoder, **config.encoder_options)
