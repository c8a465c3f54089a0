"""A voxel map that survives crashes: the newest checkpoint plus a write-ahead log of what came after.

An ingest is acknowledged only after its wire message is in the log and fsynced. Starting up loads
the checkpoint and replays the log records it does not contain, through the same code path as live
ingests, so the memory after a crash is exactly what it was after the last acknowledged ingest.
Checkpoints are written from a snapshot in a background thread while ingests go on into a new log
segment; the segments a checkpoint covers are deleted only once it is safely on disk.

One ``DurableMemory`` per store at a time, across processes (``mem3d.io.lock``); opening checks the
store first (``mem3d.io.verify``) and refuses a damaged one. ``open_store_readonly`` gives readers
the same memory without the lock and without writing. The layout and the rules: docs/storage.md.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from mem3d.episodic.config import EpisodicConfig
from mem3d.episodic.memory import EpisodicMemory
from mem3d.errors import Mem3dError, SchemaMismatchError, StoreError
from mem3d.io.checkpoint import PREFIX, list_checkpoints, save_map
from mem3d.io.episodic_store import KeyframeFiles, encode_state, load_state, prune_states, save_state
from mem3d.io.lock import StoreLock
from mem3d.io.repair import cut_torn_tail
from mem3d.io.verify import WAL, StoreReport, Verdict, inspect_store, read_records
from mem3d.protocol.messages import message_to_frame
from mem3d.protocol.migrations import upgrade
from mem3d.protocol.wire import decode
from mem3d.service import forked
from mem3d.service.priority import CHECKPOINT_NICE, lower_thread_priority
from mem3d.service.wal import WriteAheadLog
from mem3d.types import FeatureFrame, MapUpdate
from mem3d.voxel_map import MapConfig, MapContents, VoxelMap

log = logging.getLogger("mem3d.service")
MAX_TRACKED_SOURCES = 1024
INITIAL_CHECKPOINT = 0
"""The number of the empty checkpoint a new store starts with (the first save is 1)."""


CHILD_TIMEOUT_S = 1800.0
"""A checkpoint writer still running after this long is killed (the log is kept: nothing is lost)."""


def initial_checkpoint_name() -> str:
    return f"{PREFIX}{INITIAL_CHECKPOINT:06d}"


class Stepwise(Protocol):
    """A copy made a chunk per call (``MapSnapshot``, the map's growth): True once complete."""

    def step(self) -> bool: ...


class IncrementalStep:
    """Work spread over the service loop: ``work`` advanced a chunk per ``step``, then ``finish``."""

    def __init__(self, work: Stepwise, finish: Callable[[], None] | None = None) -> None:
        self.work, self._finish = work, finish

    def step(self) -> bool:
        """Advance; True once the work is complete and finished."""
        if self.work.step():
            if self._finish is not None:
                self._finish()
            return True
        return False

    def run(self) -> None:
        while not self.step():
            pass


class _Complete:
    """A step that has nothing to do (the forked checkpoint needs no snapshot copy)."""

    def step(self) -> bool:
        return True


def _child_outcome(child: forked.ChildWriter) -> Exception | None:
    """None once the child wrote the checkpoint, else the error that says why not."""
    status = child.wait(CHILD_TIMEOUT_S)
    return None if status == 0 else StoreError(f"the checkpoint writer (pid {child.pid}) ended with status {status}")


class WalBrokenError(RuntimeError):
    """The log could be neither written nor cut back: the service must stop (a restart replays it)."""


@dataclass(frozen=True)
class Ingest:
    """One ingest to make durable: its raw wire frames and what they decode to."""

    frames: list[bytes]
    frame: FeatureFrame
    source: str


@dataclass(frozen=True)
class Logged:
    """An ingest that is durable in the log and waits to be applied."""

    index: int
    """Its position in the batch given to ``log``."""
    seq: int
    item: Ingest


@dataclass(frozen=True)
class Appended:
    """A batch appended to the log and not yet settled (``DurableMemory.append``)."""

    outcomes: list
    """Per ingest of the batch: its refusal or duplicate outcome, None for the logged ones."""
    logged: list[Logged]
    start: int
    """Byte offset in the current segment where the batch's records begin (to cut them back)."""
    seq_before: int
    sources_before: OrderedDict[str, int]
    refused: bool = False
    """The records could not be written and were cut back: nothing of the batch is logged."""


@dataclass(frozen=True)
class IngestOutcome:
    seq: int
    """Position in the log; 0 for a duplicate that was not applied again."""
    update: MapUpdate | None
    duplicate: bool = False


class DurableMemory:
    """Owns one store directory: checkpoints (``mem3d.io.checkpoint``) and the write-ahead log (``wal/``)."""

    def __init__(self, store: str | Path, map_config: MapConfig | None = None,
                 episodic_config: EpisodicConfig | None = None, fork_checkpoints: bool = False) -> None:
        """Open ``store`` for writing: take its write lock for the life of this object (``StoreError``
        "store DIR is in use by pid N" if another holds it), check it (``StoreError`` naming the damage
        and the lost records if it is damaged; a torn tail is cut with a warning), load the checkpoint
        and replay the log after it. A new store gets an empty checkpoint of ``map_config`` at once,
        so that readers know its map before the first save. The episodic memory (``episodic``) is
        loaded with the checkpoint and follows the same replay (``mem3d.io.episodic_store``).
        ``fork_checkpoints``: write checkpoints from a forked child where that is available
        (``mem3d.service.forked``; only safe while no other thread runs multi-threaded BLAS)."""
        self.store = Path(store)
        self.store.mkdir(parents=True, exist_ok=True)
        self._lock = StoreLock.acquire(self.store)
        try:
            self._open(map_config, episodic_config)
        except BaseException:
            self._lock.release()
            raise
        self._saver: threading.Thread | None = None
        self._fork = fork_checkpoints and forked.AVAILABLE
        self._unapplied = 0
        self._save_error: Exception | None = None

    def _open(self, map_config: MapConfig | None, episodic_config: EpisodicConfig | None) -> None:
        report = inspect_store(self.store)
        if report.verdict is Verdict.DAMAGED:
            raise StoreError(f"refusing to open a damaged store (nothing was changed)\n{report.describe()}")
        for warning in report.warnings:
            log.warning("%s: %s", self.store, warning)
        if report.torn is not None:
            folder = cut_torn_tail(self.store, report.torn, report.describe())
            log.warning("%s: cut the torn tail of the log (never acknowledged): %s; a copy is in %s",
                        self.store, report.torn.describe(), folder)
        base = report.base
        if base.voxel_map is None:
            self.map = VoxelMap(map_config or MapConfig())
            save_map(self.map, self.store, extra_attrs={"wal_seq": 0, "sources": {}}, number=INITIAL_CHECKPOINT)
        else:
            self.map = base.voxel_map
            if map_config is not None:
                _require_same_schema(self.map.config, map_config, self.store)
        self.sources: OrderedDict[str, int] = OrderedDict(base.sources)
        self.keyframe_files = KeyframeFiles(self.store)
        self.episodic = open_episodic(self.store, base.name, self.keyframe_files, self.map, episodic_config)
        self.keyframe_files.mark()
        self._kept_keyframes = {base.name: set(self.episodic.keyframes)}
        """Checkpoint -> the keyframes its episodic state refers to (their files must stay)."""
        self.seq, self.replayed = replay(self.map, self.sources, report, self.episodic)
        self.frames_since_checkpoint = self.replayed
        self.wal = WriteAheadLog(self.store / WAL, acked=self.seq)
        self.last_checkpoint: str | None = base.name if base.name != initial_checkpoint_name() else None
        """The newest checkpoint a save wrote (None: only the empty one a new store starts with)."""

    def log(self, batch: list[Ingest]) -> tuple[list[IngestOutcome | Mem3dError | None], list[Logged]]:
        """Validate the batch and make the acceptable ingests durable with one fsync (group commit).

        Returns an outcome for each refused or duplicate ingest (None for the others) and the logged
        ingests, which must then go through ``apply`` in order before anything else changes the map.
        """
        appended = self.append(batch)
        error = None
        try:
            self.wal_sync(appended)
        except OSError as failed:
            error = failed
        return self.settle(appended, error)

    def append(self, batch: list[Ingest]) -> Appended:
        """The first half of ``log``: validate the batch and append the acceptable ingests to the log,
        not yet durable. ``wal_sync`` then makes them durable (it touches only the log's file, so it
        may run in another thread while earlier ingests are applied), and ``settle`` ends the batch;
        nothing else may append, rotate the log or take a checkpoint in between. The batch's ingests
        already have their sequence numbers and count for deduplication (``sources``)."""
        outcomes: list[IngestOutcome | Mem3dError | None] = [None] * len(batch)
        logged: list[Logged] = []
        before = (self.seq, OrderedDict(self.sources))
        for i, item in enumerate(batch):
            try:
                self.map.check(item.frame)
            except Mem3dError as error:
                outcomes[i] = error
                continue
            if item.frame.obs_id <= self.sources.get(item.source, -1):
                outcomes[i] = IngestOutcome(0, None, duplicate=True)
                continue
            logged.append(Logged(i, self.seq + len(logged) + 1, item))
            note_source(self.sources, item.source, item.frame.obs_id)
        appended = Appended(outcomes, logged, self.wal.end() if logged else 0, *before)
        if logged:
            self.seq += len(logged)
            self._unapplied += len(logged)
            try:
                for entry in logged:
                    self.wal.append(entry.seq, entry.item.frames)
            except OSError as error:
                return self._refuse(appended, error)
        return appended

    def wal_sync(self, appended: Appended) -> None:
        """The second half of ``log``: fsync the appended records and move the watermark (``OSError``
        if the disk refuses; ``settle`` then cuts them back)."""
        if appended.logged and not appended.refused:
            self.wal.sync()

    def settle(self, appended: Appended, error: OSError | None = None
               ) -> tuple[list[IngestOutcome | Mem3dError | None], list[Logged]]:
        """The end of ``log``: (outcomes, logged ingests) once ``wal_sync`` returned, or raised
        ``error``: then the batch is cut out of the log and refused (nothing of it acknowledged)."""
        if error is not None:
            appended = self._refuse(appended, error)
        return appended.outcomes, [] if appended.refused else appended.logged

    def _refuse(self, appended: Appended, error: OSError) -> Appended:
        """Cut the batch's records out of the log and forget them (disk full, I/O error)."""
        log.error("could not log %d ingests: %s", len(appended.logged), error)
        try:
            self.wal.rollback(appended.start)
        except OSError as broken:  # the log may now hold refused records: nothing may be logged after them
            raise WalBrokenError(f"the write-ahead log could not be cut back after a failed write: {broken}"
                                 ) from broken
        self.seq, self.sources = appended.seq_before, appended.sources_before
        self._unapplied -= len(appended.logged)
        outcomes = list(appended.outcomes)
        for entry in appended.logged:
            outcomes[entry.index] = StoreError(f"the write-ahead log could not be written: {error}")
        return replace(appended, outcomes=outcomes, refused=True)

    def apply(self, entry: Logged) -> IngestOutcome:
        """Apply one logged ingest to the map (in log order)."""
        try:
            update = apply_frame(self.map, entry.item.frame, self.episodic, entry.seq)
        finally:
            self._unapplied -= 1
            self.frames_since_checkpoint += 1
        return IngestOutcome(entry.seq, update)

    def ingest(self, batch: list[Ingest]) -> list[IngestOutcome | Mem3dError]:
        """``log`` then ``apply`` everything: one outcome or error per ingest."""
        outcomes, logged = self.log(batch)
        for entry in logged:
            outcomes[entry.index] = self.apply(entry)
        return outcomes  # type: ignore[return-value]

    @property
    def saving(self) -> bool:
        return self._saver is not None and self._saver.is_alive()

    def checkpoint(self, wait: bool = False) -> str | None:
        """Write a checkpoint of the current state (in the background unless ``wait``).

        Returns the checkpoint's name when ``wait``; None if a checkpoint is already being written.
        """
        if self.saving and not wait:
            return None
        self.begin_checkpoint().run()
        if not wait:
            return None
        self._saver.join()
        if self._save_error is not None:
            error, self._save_error = self._save_error, None
            raise Mem3dError(f"checkpoint failed: {error}") from error
        return self.last_checkpoint

    def begin_checkpoint(self) -> IncrementalStep:
        """Start a checkpoint of the current state. With ``fork_checkpoints`` (and Linux), a forked
        child writes it from its
        copy-on-write image of this instant (``step`` completes at once); else its snapshot is copied
        by ``step`` calls, between which the map must not change (queries may run), and a thread
        writes it. Either way the checkpoint is then finished in the background (``saving``)."""
        if self._unapplied:
            raise Mem3dError(f"{self._unapplied} logged ingests are not applied yet: apply them before a checkpoint")
        if self._saver is not None:
            self._saver.join()
        episodic_state, keyframes = encode_state(self.episodic), set(self.episodic.keyframes)
        attrs = {"wal_seq": self.seq, "sources": dict(self.sources)}
        number = _next_checkpoint_number(self.store)
        name = f"{PREFIX}{number:06d}"

        def write_files(contents: MapContents | VoxelMap) -> None:
            save_state(self.store, name, episodic_state)  # before the checkpoint that CURRENT will name
            save_map(contents, self.store, extra_attrs=attrs, number=number)

        if self._fork:
            self.keyframe_files.sync()  # the state refers to them (here: the child takes no lock)
            try:
                child = forked.ChildWriter(lambda: write_files(self.map), CHECKPOINT_NICE)
            except OSError as error:  # no memory or no process slot for a child: copy and write in a thread
                log.warning("could not fork the checkpoint writer (%s): writing it from a thread", error)
            else:
                finish = self._finish_checkpoint(name, keyframes, self.wal.rotate())
                self.frames_since_checkpoint = 0
                self._start_saver(lambda: finish(_child_outcome(child)))
                return IncrementalStep(_Complete())
        snapshot = self.map.begin_snapshot()
        finish = self._finish_checkpoint(name, keyframes, self.wal.rotate())
        self.frames_since_checkpoint = 0

        def write(contents: MapContents) -> None:
            lower_thread_priority(CHECKPOINT_NICE)  # its checksums too (mem3d.service.priority)
            try:
                self.keyframe_files.sync()  # the state refers to them
                write_files(contents)
            except Exception as error:  # disk full, permissions: keep the log, report
                finish(error)
                return
            finish(None)

        return IncrementalStep(snapshot, lambda: self._start_saver(lambda: write(snapshot.contents)))

    def _finish_checkpoint(self, name: str, keyframes: set[int], first_uncovered_segment: int
                           ) -> Callable[[Exception | None], None]:
        """What follows a checkpoint's files being written (``error`` None) or failing: the
        bookkeeping, and dropping the log segments it covers (the segments logged since
        ``first_uncovered_segment`` stay)."""
        def finish(error: Exception | None) -> None:
            if error is not None:
                self._save_error = error
                log.error("checkpoint failed, the write-ahead log is kept: %s", error)
                return
            try:
                self.last_checkpoint = name
                self._forget_old_episodic(name, keyframes)
                self.wal.drop_before(first_uncovered_segment)
            except Exception as failed:
                self._save_error = failed
                log.error("could not tidy up after checkpoint %s: %s", name, failed)
        return finish

    def _start_saver(self, target: Callable[[], None]) -> None:
        self._saver = threading.Thread(target=target, name="mem3d-checkpoint", daemon=True)
        self._saver.start()

    def _forget_old_episodic(self, checkpoint: str, keyframes: set[int]) -> None:
        """After a checkpoint: delete the episodic states of checkpoints that are gone, and the files of
        dropped keyframes that no kept state refers to."""
        kept = list_checkpoints(self.store)
        prune_states(self.store, kept)
        self._kept_keyframes[checkpoint] = keyframes
        self._kept_keyframes = {name: ids for name, ids in self._kept_keyframes.items() if name in kept}
        self.keyframe_files.collect(set().union(*self._kept_keyframes.values()))

    def close(self, checkpoint: bool = True) -> None:
        """Finish any checkpoint in progress, optionally write a final one, close the log, release the
        store's write lock."""
        try:
            if self._saver is not None:
                self._saver.join()
            if checkpoint and self.frames_since_checkpoint:
                self.checkpoint(wait=True)
            self.wal.close()
        finally:
            self._lock.release()


def apply_frame(voxel_map: VoxelMap, frame: FeatureFrame, episodic: EpisodicMemory | None = None,
                seq: int = 0) -> MapUpdate:
    """Apply one ingest: the map update and the episodic record of it (which may evict voxels for its
    budget: they are in the returned update)."""
    update = voxel_map.update(frame)
    if episodic is not None:
        update = episodic.record(frame, update, voxel_map, seq)
    return update


def note_source(sources: OrderedDict[str, int], source: str, obs_id: int) -> None:
    """Remember ``obs_id`` as the newest logged from ``source`` (for deduplication; the newest
    ``MAX_TRACKED_SOURCES`` sources are kept). Done when an ingest is logged, applied or not."""
    sources[source] = obs_id
    sources.move_to_end(source)
    while len(sources) > MAX_TRACKED_SOURCES:
        sources.popitem(last=False)


def replay(voxel_map: VoxelMap, sources: OrderedDict[str, int], report: StoreReport,
           episodic: EpisodicMemory | None = None) -> tuple[int, int]:
    """Apply the log records ``report`` found after its checkpoint, as the live path would have;
    (newest seq, ingests replayed). A record that fails to apply is skipped with a logged error, so a
    store can always be reopened."""
    seq, replayed = report.base.seq, 0
    for ref, frames in read_records(report):
        seq = ref.seq
        if ref.loss:
            log.warning("%s: records %d-%d were lost; a repair accepted the loss", report.store, ref.first_seq, ref.seq)
            continue
        replayed += 1
        try:
            frame, source = message_to_frame(decode(upgrade(frames)))
            note_source(sources, source, frame.obs_id)
            apply_frame(voxel_map, frame, episodic, ref.seq)
        except Mem3dError as error:  # a record the live path would have refused
            log.warning("skipping log record %d: %s", ref.seq, error)
        except Exception:  # a bug must not make the store unusable: keep the record, go on
            log.exception("skipping log record %d, which failed to apply", ref.seq)
    if replayed:
        log.info("replayed %d logged ingests after the checkpoint", replayed)
    return seq, replayed


def open_episodic(store: Path, checkpoint: str | None, files: KeyframeFiles, voxel_map: VoxelMap,
                  config: EpisodicConfig | None = None) -> EpisodicMemory:
    """The episodic memory saved with ``checkpoint`` (``StoreError`` if it is missing or damaged)."""
    memory = load_state(store, checkpoint, files, initial_checkpoint_name(), voxel_map.voxel_size,
                        voxel_map.config.localize.threshold, config)
    files.check(list(memory.keyframes))
    return memory


def _next_checkpoint_number(store: Path) -> int:
    existing = list_checkpoints(store)
    return int(existing[-1][len(PREFIX):]) + 1 if existing else 1


def _require_same_schema(stored: MapConfig, wanted: MapConfig, store: Path) -> None:
    for name in ("feature_dim", "feature_model", "voxel_size"):
        if getattr(stored, name) != getattr(wanted, name):
            raise SchemaMismatchError(f"the map in {store} has {name} {getattr(stored, name)!r}, "
                                      f"the service was started for {getattr(wanted, name)!r}")
