"""The memory service: one process owning one memory, serving it over ZeroMQ.

Sockets (all bound, default loopback only; layout in ``mem3d.comms.endpoints``):
- requests (ROUTER): ping, stats, localize, save, shutdown (``handlers``); DEALER or REQ clients.
- ingest (ROUTER): feature frames, each acknowledged once it is durable (``ingest``, ``DurableMemory``).
- changes (XPUB): a ``map.update`` announcement per applied frame (``changes``), for planners that
  react to change (summarised only while someone is subscribed).

One thread runs the loop below over both ROUTER sockets, so queries interleave with ingest: per
turn it reads a batch of ingests (when none is pending), then applies one frame or one chunk of a
column copy (growth or checkpoint snapshot), then answers up to ``QUERIES_PER_TURN`` queries.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from pathlib import Path

import zmq

from mem3d.comms.auth import start_authenticator
from mem3d.comms.sockets import SERVICE, bind, bound_endpoint
from mem3d.encoder import TextEncoder
from mem3d.errors import InvalidInputError
from mem3d.query.localization import LocalizeConfig
from mem3d.service.changes import ChangePublisher
from mem3d.service.checkpoints import CheckpointPolicy
from mem3d.service.config import ServiceConfig
from mem3d.service.durable import DurableMemory, IncrementalStep
from mem3d.service.handlers import RequestHandlers
from mem3d.service.ingest import IngestQueue
from mem3d.service.routing import Router
from mem3d.voxel_map import MapConfig

__all__ = ["MemoryService", "ServiceConfig"]
log = logging.getLogger("mem3d.service")
POLL_MS = 50
QUERIES_PER_TURN = 16
"""Queries answered at most between two frames (or copy chunks)."""


class MemoryService:
    """Binds the sockets and serves until ``shutdown`` (a request, SIGTERM/SIGINT or ``stop``).

    ``encoder`` answers text queries; ``mem3d.service.factory.create_service`` builds the one the
    config names. Without one the service takes embeddings only.
    """

    def __init__(self, config: ServiceConfig, encoder: TextEncoder | None = None) -> None:
        if config.encoder is not None and encoder is None:
            raise InvalidInputError(f"the config names the text encoder {config.encoder!r}: pass it built "
                                    "(mem3d.service.factory.create_service does)")
        self.config = config
        map_config = config.map
        if map_config is None and encoder is not None:
            info = encoder.info
            map_config = MapConfig(feature_dim=info.feature_dim, feature_model=info.model_id,
                                   localize=LocalizeConfig(threshold=info.match_threshold))
        self.memory = DurableMemory(Path(config.store), map_config)
        if encoder is not None:
            encoder.info.require_compatible(self.memory.map.feature_dim, self.memory.map.config.feature_model)
        self._context = zmq.Context()
        self._authenticator = (start_authenticator(self._context, config.curve)
                               if config.curve is not None else None)
        wanted = config.endpoints
        sockets = {name: bind(self._context, kind, endpoint, SERVICE, config.curve) for name, kind, endpoint in (
            ("requests", zmq.ROUTER, wanted.requests), ("ingest", zmq.ROUTER, wanted.ingest),
            ("changes", zmq.XPUB, wanted.changes))}
        self.endpoints = {name: bound_endpoint(socket) for name, socket in sockets.items()}
        """The bound endpoints (useful with ``tcp://127.0.0.1:*``, which picks free ports)."""
        self._sockets = sockets
        self._requests = Router(sockets["requests"])
        self._feed = ChangePublisher(sockets["changes"], self.memory.map.voxel_size)
        self._ingest = IngestQueue(Router(sockets["ingest"]), self.memory, self._feed)
        self._handlers = RequestHandlers(self.memory, encoder, self)
        self._checkpoints = CheckpointPolicy(config.checkpoint_every_frames, config.checkpoint_every_s)
        self._copying: IncrementalStep | None = None
        """A column copy (growth or checkpoint snapshot) done a chunk per loop; frames wait for it."""
        self._running = False

    @property
    def frames_ingested(self) -> int:
        """Frames applied since the service started."""
        return self._ingest.frames_applied

    # --- the loop -------------------------------------------------------------------------

    def serve_forever(self, on_ready: Callable[[], None] | None = None) -> None:
        """Serve until shutdown; SIGTERM and SIGINT shut down cleanly (checkpoint, close).

        ``on_ready`` runs once the signal handlers are in place (``mem3d serve`` prints its ready line
        there, so a SIGTERM sent right after that line still ends in a clean checkpoint).
        """
        previous = {sig: signal.signal(sig, lambda *_: self.stop()) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            if on_ready is not None:
                on_ready()
            self.run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def run(self) -> None:
        ingest, changes = self._sockets["ingest"], self._sockets["changes"]
        poller = zmq.Poller()
        for socket in self._sockets.values():
            poller.register(socket, zmq.POLLIN)
        self._running = True
        log.info("serving %d voxels from %s on %s (ingest %s, changes %s)", len(self.memory.map),
                 self.config.store, self.endpoints["requests"], self.endpoints["ingest"], self.endpoints["changes"])
        try:
            while self._running:
                busy = self._ingest.pending or self._copying is not None
                ready = dict(poller.poll(0 if busy else POLL_MS))
                if ingest in ready and not self._ingest.pending:
                    self._ingest.receive_batch()
                if self._copying is not None:  # a chunk of copying instead of a frame: queries go on
                    if self._copying.step():
                        self._copying = None
                elif self._ingest.pending:
                    self._copying = self.memory.begin_growth(self._ingest.next_frame())
                    if self._copying is None:
                        self._ingest.apply_next()
                for _ in range(QUERIES_PER_TURN):  # queries wait for at most one frame being applied
                    if not self._serve_request():
                        break
                if changes in ready:
                    self._feed.count_subscribers()
                self._maybe_checkpoint()
        finally:
            self.close()

    def _serve_request(self) -> bool:
        waiting = self._requests.receive()
        if waiting is None:
            return False
        envelope, frames = waiting
        self._requests.reply(envelope, *self._handlers.handle(frames))
        return True

    def _maybe_checkpoint(self) -> None:
        if (self._checkpoints.due(self.memory.frames_since_checkpoint) and not self.memory.saving
                and not self._ingest.pending and self._copying is None):
            self._copying = self.memory.begin_checkpoint()  # copied between queries, then written
            self._checkpoints.restart()

    def _apply_all(self) -> None:
        if self._copying is not None:
            self._copying.run()
            self._copying = None
        self._ingest.apply_all()

    def save_now(self) -> str:
        """Apply every logged ingest and write a checkpoint now; its name."""
        self._apply_all()
        name = self.memory.checkpoint(wait=True)
        self._checkpoints.restart()
        return name

    def stop(self) -> None:
        self._running = False

    def close(self) -> None:
        if self._sockets["requests"].closed:
            return
        self._apply_all()  # logged ingests are acknowledged before the sockets go
        for socket in self._sockets.values():
            socket.close(linger=500)  # long enough for the last replies (a shutdown_ack) to leave
        if self._authenticator is not None:
            self._authenticator.stop()
        self._context.term()
        self.memory.close(checkpoint=True)
