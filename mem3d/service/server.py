"""The memory service: one process owning one memory, serving it over ZeroMQ.

Sockets (all bound, default loopback only; layout in ``mem3d.comms.endpoints``):
- requests (ROUTER): ping, stats, localize, occupancy, save, shutdown (``handlers``); DEALER or REQ clients.
- ingest (ROUTER): feature frames, each acknowledged once it is durable (``ingest``, ``DurableMemory``).
- changes (XPUB): a ``map.update`` announcement per applied frame (``changes``), for planners that
  react to change (summarised only while someone is subscribed).

Two threads. The loop below owns the sockets: it hands ingests to a worker thread (``ingest``), which
logs and applies them to the map and writes the checkpoints, and it answers queries from a replica of
the map meanwhile. Per turn it takes the worker's results (each applied frame's changes go into the
replica, then the frame is acknowledged and announced), reads a batch of ingests, and answers up to
``QUERIES_PER_TURN`` queries. A query never waits for a frame being applied or a checkpoint being
copied, only for the replica taking a frame's rows (a few milliseconds) and for the queries ahead.
Checkpoints are written by threads a few steps nicer (``mem3d.service.priority``), so that on a machine
with few cores the queries get a core first.
"""

from __future__ import annotations

import logging
import signal
import sys
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
from mem3d.service.durable import DurableMemory
from mem3d.service.handlers import RequestHandlers
from mem3d.service.ingest import IngestPipeline
from mem3d.service.priority import start_zarr_threads_nicer
from mem3d.service.routing import Router
from mem3d.threads import blas_threads
from mem3d.voxel_map import MapConfig

__all__ = ["MemoryService", "ServiceConfig"]
log = logging.getLogger("mem3d.service")
POLL_MS = 50
SWITCH_INTERVAL_S = 0.0005
"""Python's thread switch interval while the service runs (the default is 5 ms). A query releases the
GIL in each large numpy operation and must take it back from the ingest worker each time: with the
default, every such hand-over could cost a query up to 5 ms."""
QUERIES_PER_TURN = 16
"""Queries answered at most between two looks at the worker's results."""


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
        start_zarr_threads_nicer()  # checkpoints take the CPU time queries leave (mem3d.service.priority)
        map_config = config.map
        if map_config is None and encoder is not None:
            info = encoder.info
            map_config = MapConfig(feature_dim=info.feature_dim, feature_model=info.model_id,
                                   localize=LocalizeConfig(threshold=info.match_threshold))
        self.memory = DurableMemory(Path(config.store), map_config, config.episodic,
                                    fork_checkpoints=config.blas_threads == 1)  # safe then: mem3d.service.forked
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
        self._ingest = IngestPipeline(Router(sockets["ingest"]), self.memory, self._feed,
                                      CheckpointPolicy(config.checkpoint_every_frames, config.checkpoint_every_s),
                                      config.traversability)
        self._handlers = RequestHandlers(self.memory, self._ingest.replica, encoder, self,
                                         lambda: self._ingest.traversability)
        self._running = True
        """False once ``stop`` was called (also before ``run``: a signal right after the ready line)."""

    @property
    def frames_ingested(self) -> int:
        """Frames applied (and acknowledged) since the service started."""
        return self._ingest.frames_applied

    @property
    def applied_seq(self) -> int:
        """Log sequence number of the newest frame applied to the map."""
        return self._ingest.worker.applied_seq

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
        """Serve until shut down, with ``config.blas_threads`` BLAS threads (``mem3d.threads``)."""
        with blas_threads(self.config.blas_threads):
            self._serve()

    def _serve(self) -> None:
        ingest, changes = self._sockets["ingest"], self._sockets["changes"]
        poller = zmq.Poller()
        for socket in self._sockets.values():
            poller.register(socket, zmq.POLLIN)
        poller.register(self._ingest.worker.wake_fd, zmq.POLLIN)
        reading_ingest = True
        previous_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self._ingest.worker.start()
        log.info("serving %d voxels from %s on %s (ingest %s, changes %s)", len(self.memory.map),
                 self.config.store, self.endpoints["requests"], self.endpoints["ingest"], self.endpoints["changes"])
        try:
            while self._running:
                if self._ingest.accepting != reading_ingest:  # unread ingests wait in ZeroMQ's queues
                    reading_ingest = self._ingest.accepting
                    poller.modify(ingest, zmq.POLLIN if reading_ingest else 0)
                ready = dict(poller.poll(POLL_MS))
                self._ingest.process()  # first, so that answers are as fresh as can be
                if ingest in ready and reading_ingest:
                    self._ingest.receive()
                for _ in range(QUERIES_PER_TURN):
                    if not self._serve_request():
                        break
                if changes in ready:
                    self._feed.count_subscribers()
        finally:
            self.close()
            sys.setswitchinterval(previous_interval)

    def _serve_request(self) -> bool:
        waiting = self._requests.receive()
        if waiting is None:
            return False
        envelope, frames = waiting
        self._requests.reply(envelope, *self._handlers.handle(frames))
        return True

    def save_now(self) -> str:
        """Apply every logged ingest and write a checkpoint now; its name."""
        return self._ingest.save()

    def stop(self) -> None:
        self._running = False

    def close(self) -> None:
        if self._sockets["requests"].closed:
            return
        self._ingest.close()  # the worker applies what it was given: those ingests are acknowledged
        for socket in self._sockets.values():
            socket.close(linger=500)  # long enough for the last replies (a shutdown_ack) to leave
        if self._authenticator is not None:
            self._authenticator.stop()
        self._context.term()
        self.memory.close(checkpoint=True)
