"""The ingest worker's pipelined log: a batch's fsync runs while the previous batch is applied, and
nothing is applied or acknowledged before its own fsync returned; a failed fsync refuses its batch only."""

import errno
import os
import threading

import pytest

from mem3d.protocol.replies import ErrorReply, IngestAck
from mem3d.service.checkpoints import CheckpointPolicy
from mem3d.service.durable import DurableMemory
from mem3d.service.ingest import Answer, Applied, IngestWorker, Stopped
from tests.mem3d.service.stores import CONFIG, assert_same, crash, ingest_of, make_frames, reference

WAIT_S = 30.0


@pytest.fixture
def frames(scene, concepts, camera):
    return make_frames(scene, concepts, camera, 5)


@pytest.fixture
def memory(tmp_path):
    memory = DurableMemory(tmp_path, CONFIG)
    memory.map.track_changes()
    return memory


def start_worker(memory: DurableMemory) -> IngestWorker:
    worker = IngestWorker(memory, CheckpointPolicy(10_000, 1e6))
    worker.start()
    return worker


def submit(worker: IngestWorker, frames, tag: bytes) -> None:
    worker.submit([([tag + bytes([i])], ingest_of(frame).frames) for i, frame in enumerate(frames)])


def collect(worker: IngestWorker, count: int) -> list:
    """The next ``count`` answers and applied frames (the worker's other results are left out)."""
    found = []
    while len(found) < count:
        results = worker.results(timeout=WAIT_S)
        assert results, f"only {len(found)} of {count} results within {WAIT_S} s"
        found += [r for r in results if isinstance(r, (Applied, Answer))]
    return found


def stop(worker: IngestWorker) -> None:
    worker.request_stop()
    while not any(isinstance(r, Stopped) for r in worker.results(timeout=WAIT_S)):
        pass
    worker.join()


def test_a_batch_is_applied_only_once_its_fsync_returned(memory, frames, monkeypatch):
    real_sync, entered, release = memory.wal.sync, threading.Event(), threading.Event()

    def slow_sync():
        entered.set()
        assert release.wait(WAIT_S)
        real_sync()

    monkeypatch.setattr(memory.wal, "sync", slow_sync)
    worker = start_worker(memory)
    submit(worker, frames[:2], b"a")
    assert entered.wait(WAIT_S)
    assert worker.results(timeout=0.5) == []  # logged, not durable yet: neither applied nor answered
    assert len(memory.map) == 0 and worker.applied_seq == 0
    release.set()
    applied = collect(worker, 2)
    assert [(r.seq, r.reply.seq) for r in applied] == [(1, 1), (2, 2)]
    assert all(isinstance(r, Applied) and isinstance(r.reply, IngestAck) for r in applied)
    stop(worker)
    crash(memory)
    assert_same(DurableMemory(memory.store, CONFIG).map, reference(frames[:2]))


def test_the_next_batch_is_synced_while_the_previous_one_is_applied(memory, frames, monkeypatch):
    real_apply, applying, second_synced = memory.apply, threading.Event(), threading.Event()
    real_sync, syncs = memory.wal.sync, []

    def apply(entry):  # the first batch's apply holds until the second batch's fsync has run
        if entry.seq == 1:
            applying.set()
            assert second_synced.wait(WAIT_S), "the second batch was not synced during the first one's apply"
        return real_apply(entry)

    def sync():
        real_sync()
        syncs.append(memory.seq)
        if len(syncs) == 2:
            second_synced.set()

    monkeypatch.setattr(memory, "apply", apply)
    monkeypatch.setattr(memory.wal, "sync", sync)
    worker = IngestWorker(memory, CheckpointPolicy(10_000, 1e6))
    submit(worker, frames[:1], b"a")  # both batches wait before the worker starts
    submit(worker, frames[1:3], b"b")
    worker.start()
    assert [(type(r), r.seq) for r in collect(worker, 3)] == [(Applied, 1), (Applied, 2), (Applied, 3)]
    assert applying.is_set() and syncs == [1, 3]
    stop(worker)


def test_a_failed_fsync_refuses_its_batch_and_keeps_the_previous_one(memory, frames, monkeypatch):
    real_fsync, wal_fd = os.fsync, []

    def failing_fsync(fd):
        if fd == memory.wal._fd and len(wal_fd) == 1:  # the second batch's fsync fails
            wal_fd.append(fd)
            raise OSError(errno.EIO, "I/O error")
        if fd == memory.wal._fd:
            wal_fd.append(fd)
        return real_fsync(fd)

    monkeypatch.setattr("mem3d.service.wal.os.fsync", failing_fsync)
    worker = start_worker(memory)
    submit(worker, frames[:1], b"a")
    assert [r.seq for r in collect(worker, 1)] == [1]
    submit(worker, frames[1:3], b"b")
    refused = collect(worker, 2)
    assert all(isinstance(r, Answer) and isinstance(r.reply, ErrorReply) for r in refused)
    assert all("write-ahead log could not be written" in r.reply.message for r in refused)
    submit(worker, frames[3:5], b"c")  # the disk is back: the next batch takes the refused ones' numbers
    assert [r.seq for r in collect(worker, 2)] == [2, 3]
    stop(worker)
    crash(memory)
    reopened = DurableMemory(memory.store, CONFIG)
    assert reopened.replayed == 3
    assert_same(reopened.map, reference([frames[0], frames[3], frames[4]]))


def test_a_resent_frame_of_a_batch_still_syncing_is_a_duplicate(memory, frames):
    worker = start_worker(memory)
    submit(worker, frames[:2], b"a")
    submit(worker, frames[1:2], b"b")  # sent again before the first was acknowledged
    results = collect(worker, 3)
    duplicates = [r for r in results if isinstance(r, Answer)]
    assert len(duplicates) == 1 and duplicates[0].reply.duplicate and memory.seq == 2
    stop(worker)
    crash(memory)
    assert_same(DurableMemory(memory.store, CONFIG).map, reference(frames[:2]))
