"""The ingest pipeline: frames are logged and applied in a worker thread while the service loop
answers queries from a replica of the map (``mem3d.service.replica``).

The loop reads up to ``BATCH`` waiting ingests and submits their raw wire frames. The worker decodes
them, refuses the bad ones, logs the rest with one fsync (group commit) and applies them one at a
time, in log order. The fsync is pipelined: a batch's records are appended and their fsync runs in a
second thread (``mem3d-wal-sync``, the GIL released) while the worker applies the previous batch,
whose fsync had returned; a batch is applied, and its ingests answered, only once its own fsync
returned, so nothing is applied or acknowledged before it is durable, and frames are applied in log
order. For each applied frame it hands back the map's changes (copies of the rows the
frame wrote); the loop applies them to its replica between two queries and only then acknowledges
the frame and announces it on the change feed, so an acknowledged frame is in every later answer and
no answer ever sees half of a frame. The worker also prepares each frame's change-feed message (the
loop only sends it) and writes the checkpoints (its snapshot copy runs
between two frames, not between queries) and serves save requests in order with the frames.
Results wake the loop through a pipe it polls (``wake_fd``).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from mem3d.nav.traversability import TraversabilityConfig, TraversabilityGrid
from mem3d.protocol.announcements import update_counts
from mem3d.protocol.messages import message_to_frame
from mem3d.protocol.replies import ErrorReply, IngestAck, Reply
from mem3d.protocol.requests import IngestRequest
from mem3d.protocol.wire import ErrorCode, ProtocolError, decode
from mem3d.service.changes import ChangePublisher
from mem3d.service.checkpoints import CheckpointPolicy
from mem3d.service.durable import Appended, DurableMemory, Ingest, IngestOutcome, Logged
from mem3d.service.replica import MapReplica
from mem3d.service.routing import Router
from mem3d.types import MapUpdate
from mem3d.voxel_map import MapChanges

log = logging.getLogger("mem3d.service")
BATCH = 16
"""Ingests read (and logged with one fsync) at a time."""
MAX_IN_FLIGHT = 2 * BATCH
"""Ingests submitted but not answered yet beyond which the loop stops reading the ingest socket
(ZeroMQ's queues then hold the senders back)."""
IDLE_CHECK_S = 0.5
"""How often an idle worker checks whether a checkpoint is due (``checkpoint_every_s``)."""


@dataclass(frozen=True)
class Answer:
    """A reply to an ingest that changed nothing: a refusal or a duplicate."""

    envelope: list[bytes]
    request_id: int
    reply: Reply


@dataclass(frozen=True)
class Applied:
    """A logged ingest went through the map (``reply`` is its ack, or an error if applying failed)."""

    envelope: list[bytes]
    request_id: int
    reply: Reply
    update: MapUpdate | None
    changes: MapChanges
    """What the frame changed in the map: the replica applies it before the reply goes out."""
    seq: int
    announcement: list[bytes] | None = None
    """The change feed's message for ``update`` (None while nobody subscribes)."""


@dataclass(frozen=True)
class Saved:
    """A save request's outcome: the checkpoint's name, or the error that stopped it."""

    checkpoint: str | None
    error: Exception | None = None


@dataclass(frozen=True)
class Stopped:
    """The worker ended: after a stop request (``error`` None) or on a fatal error (a broken log)."""

    error: BaseException | None


@dataclass(frozen=True)
class _Batch:
    items: list[tuple[list[bytes], list[bytes]]]
    """(routing envelope, message frames) per ingest."""


class _Save:
    pass


@dataclass(frozen=True)
class _Syncing:
    """A batch appended to the log whose fsync runs in the sync thread."""

    received: list[tuple[list[bytes], int, Ingest]]
    """(routing envelope, request id, ingest) per decoded ingest of the batch, in order."""
    appended: Appended
    fsync: Future


_STOP = object()


class IngestWorker:
    """The thread that owns every change to the memory: logging, applying, checkpoints."""

    def __init__(self, memory: DurableMemory, checkpoints: CheckpointPolicy,
                 announce: Callable[[MapUpdate], list[bytes] | None] = lambda update: None) -> None:
        self.memory, self.checkpoints, self._announce = memory, checkpoints, announce
        self.applied_seq = memory.seq
        """Log sequence number of the newest frame applied to the map."""
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._results: queue.SimpleQueue = queue.SimpleQueue()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._thread = threading.Thread(target=self._run, name="mem3d-ingest", daemon=True)
        self._syncing: _Syncing | None = None
        """The newest batch appended, not yet applied (its fsync running or done)."""
        self._sync_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mem3d-wal-sync")

    @property
    def wake_fd(self) -> int:
        """Readable when results wait (poll it with the sockets)."""
        return self._wake_read

    def start(self) -> None:
        self._thread.start()

    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    def submit(self, items: list[tuple[list[bytes], list[bytes]]]) -> None:
        self._inbox.put(_Batch(items))

    def request_save(self) -> None:
        """Apply everything submitted before, then write a checkpoint (a ``Saved`` result follows)."""
        self._inbox.put(_Save())

    def request_stop(self) -> None:
        """Finish everything submitted, then end (a ``Stopped`` result follows)."""
        self._inbox.put(_STOP)

    def results(self, timeout: float | None = 0.0) -> list:
        """The results waiting, oldest first; with a ``timeout`` (seconds, None = forever) wait for one."""
        try:
            while os.read(self._wake_read, 4096):
                pass
        except BlockingIOError:
            pass
        found = []
        try:
            if timeout != 0.0:
                found.append(self._results.get(timeout=timeout))
            while True:
                found.append(self._results.get_nowait())
        except queue.Empty:
            return found

    def join(self) -> None:
        """Wait for the thread (if it was started) and close the pipe."""
        if self.started:
            self._thread.join()
        os.close(self._wake_read)
        os.close(self._wake_write)

    # --- the worker thread ----------------------------------------------------------------

    def _post(self, result) -> None:
        self._results.put(result)
        try:
            os.write(self._wake_write, b"\0")
        except BlockingIOError:  # the pipe is full of wake-ups already: the loop will look
            pass

    def _run(self) -> None:
        try:
            while True:
                try:  # without waiting while a batch is in the log, not applied yet
                    job = self._inbox.get(timeout=IDLE_CHECK_S) if self._syncing is None else self._inbox.get_nowait()
                except queue.Empty:
                    self._apply_synced()
                    self._maybe_checkpoint()
                    continue
                if job is _STOP:
                    self._apply_synced()
                    break
                if isinstance(job, _Save):
                    self._apply_synced()
                    self._save()
                else:
                    self._ingest(job.items)
                    self._maybe_checkpoint()
        except BaseException as error:  # a broken log: nothing may be logged after it, the service stops
            log.exception("the ingest worker stopped")
            self._post(Stopped(error))
            return
        finally:
            self._sync_thread.shutdown(wait=True)
        self._post(Stopped(None))

    def _ingest(self, items: list[tuple[list[bytes], list[bytes]]]) -> None:
        """Decode a batch, append it to the log and start its fsync; then apply the previous batch."""
        received: list[tuple[list[bytes], int, Ingest]] = []
        for envelope, frames in items:
            request_id = 0
            try:
                message = decode(frames)
                request_id = message.id
                if message.type != IngestRequest.TYPE:
                    raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"the ingest endpoint takes only 'ingest', "
                                                                f"got {message.type!r}")
                frame, source = message_to_frame(message)
                received.append((envelope, request_id, Ingest(frames, frame, source)))
            except ProtocolError as error:
                self._post(Answer(envelope, request_id or error.request_id, ErrorReply.of(error)))
            except Exception as error:  # a bug must not take the service down; nothing was logged
                log.exception("internal error while reading an ingest")
                self._post(Answer(envelope, request_id, ErrorReply.of(error)))
        if not received:
            return
        previous = self._settle()  # its fsync returned before anything more is appended
        appended = self.memory.append([item for _, _, item in received])
        self._syncing = _Syncing(received, appended, self._sync_thread.submit(self.memory.wal_sync, appended))
        self._apply_all(previous)

    def _settle(self) -> list[tuple[list[bytes], int, Logged]]:
        """Wait for the batch in the log's fsync and answer its refusals and duplicates; its ingests
        to apply, with their envelopes and request ids (none if its log write failed)."""
        syncing, self._syncing = self._syncing, None
        if syncing is None:
            return []
        error = syncing.fsync.exception()
        outcomes, logged = self.memory.settle(syncing.appended, error)
        received = syncing.received
        for (envelope, request_id, item), outcome in zip(received, outcomes):
            if isinstance(outcome, IngestOutcome):  # a duplicate
                ack = IngestAck(obs_id=item.frame.obs_id, seq=0, duplicate=True)
                self._post(Answer(envelope, request_id, ack))
            elif outcome is not None:
                self._post(Answer(envelope, request_id, ErrorReply.of(outcome)))
        return [(received[entry.index][0], received[entry.index][1], entry) for entry in logged]

    def _apply_all(self, logged: list[tuple[list[bytes], int, Logged]]) -> None:
        for envelope, request_id, entry in logged:
            self._apply(envelope, request_id, entry)

    def _apply_synced(self) -> None:
        """Apply the batch in the log, once its fsync returned (before a checkpoint, a save, the end)."""
        self._apply_all(self._settle())

    def _apply(self, envelope: list[bytes], request_id: int, entry: Logged) -> None:
        update: MapUpdate | None = None
        try:
            update = self.memory.apply(entry).update
            reply: Reply = IngestAck(obs_id=entry.item.frame.obs_id, seq=entry.seq, duplicate=False,
                                     **update_counts(update))
        except Exception as error:  # unreachable for checked frames; a bug must not stop the service
            log.exception("internal error while applying ingest %d", entry.seq)
            reply = ErrorReply(code=ErrorCode.INTERNAL, message=f"internal error: {error}")
        self.applied_seq = entry.seq
        announcement = self._announce(update) if update is not None else None
        # Taken even after a failure: whatever the frame wrote, the replica must match the map.
        self._post(Applied(envelope, request_id, reply, update, self.memory.map.take_changes(), entry.seq,
                           announcement))

    def _maybe_checkpoint(self) -> None:
        if self.checkpoints.due(self.memory.frames_since_checkpoint) and not self.memory.saving:
            self._apply_synced()  # a checkpoint holds every logged ingest
            self.memory.checkpoint()  # the snapshot is copied here, between frames; written in the background
            self.checkpoints.restart()

    def _save(self) -> None:
        try:
            name = self.memory.checkpoint(wait=True)
        except Exception as error:  # reported to the client that asked
            self._post(Saved(None, error))
            return
        self.checkpoints.restart()
        self._post(Saved(name))


class IngestPipeline:
    """The service loop's side of the worker: submits ingests, and applies each result to the replica
    before sending its reply."""

    def __init__(self, router: Router, memory: DurableMemory, feed: ChangePublisher,
                 checkpoints: CheckpointPolicy, traversability: TraversabilityConfig | None = None) -> None:
        self.router, self.feed = router, feed
        memory.map.track_changes()
        self.replica = MapReplica(memory.map.contents(), memory.seq)
        """What queries read: the map as of the newest acknowledged frame."""
        self.traversability = TraversabilityGrid.from_keys(
            self.replica.contents().columns["key"], memory.map.voxel_size, traversability, memory.seq)
        """The 2D grid, as of the same frame as the replica (``occupancy`` reads it)."""
        self.worker = IngestWorker(memory, checkpoints, feed.announcement)
        self.frames_applied = 0
        self._in_flight = 0
        self._stopped = False

    @property
    def accepting(self) -> bool:
        """Whether the loop should read more ingests now."""
        return self._in_flight < MAX_IN_FLIGHT

    def receive(self) -> None:
        """Submit up to ``BATCH`` waiting ingests to the worker."""
        items = []
        for _ in range(BATCH):
            waiting = self.router.receive()
            if waiting is None:
                break
            items.append(waiting)
        if items:
            self._in_flight += len(items)
            self.worker.submit(items)

    def process(self, timeout: float | None = 0.0) -> Saved | None:
        """Handle the worker's waiting results (waiting up to ``timeout`` s for one); the ``Saved``
        among them, if any. Raises the worker's fatal error."""
        saved = None
        for result in self.worker.results(timeout):
            if isinstance(result, Applied):
                self.replica.apply(result.changes, result.seq)
                self._follow(result)
                self._send(result.envelope, result.request_id, result.reply)
                if result.update is not None:
                    self.frames_applied += 1
                    self.feed.send(result.announcement)
            elif isinstance(result, Answer):
                self._send(result.envelope, result.request_id, result.reply)
            elif isinstance(result, Saved):
                saved = result
            elif isinstance(result, Stopped):
                self._stopped = True
                if result.error is not None:
                    raise result.error
        return saved

    def _follow(self, result: Applied) -> None:
        """Bring the traversability grid to the replica's frame: fold the frame's update in, or (when
        applying it failed, so what it wrote is unknown) rebuild the grid from the replica's voxels."""
        if result.update is not None:
            self.traversability.apply(result.update, result.seq)
            return
        grid = self.traversability
        self.traversability = TraversabilityGrid.from_keys(
            self.replica.contents().columns["key"], grid.voxel_size, grid.config, result.seq, grid.stamp)

    def _send(self, envelope: list[bytes], request_id: int, reply: Reply) -> None:
        self._in_flight -= 1
        self.router.reply(envelope, request_id, reply)

    def save(self) -> str:
        """Apply every ingest submitted so far and write a checkpoint; its name."""
        self.worker.request_save()
        while True:
            saved = self.process(timeout=None)
            if saved is not None:
                if saved.error is not None:
                    raise saved.error
                return saved.checkpoint

    def close(self) -> None:
        """Let the worker finish what it was given (sending the replies), then end it."""
        if self.worker.started and not self._stopped:
            self.worker.request_stop()
            while not self._stopped:
                self.process(timeout=None)
        self.worker.join()
