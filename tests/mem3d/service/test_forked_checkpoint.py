"""Checkpoints written by a forked child: the map as of the fork, without a snapshot copy in this
process; a failing child loses nothing; the child dies with the service."""

import signal
import subprocess
import sys
import time

import pytest

from mem3d.errors import Mem3dError
from mem3d.service import durable, forked
from mem3d.service.durable import DurableMemory
from mem3d.voxel_map import VoxelMap
from tests.mem3d.service.stores import CONFIG, assert_same, crash, ingest_of, make_frames, reference

pytestmark = pytest.mark.skipif(not forked.AVAILABLE, reason="checkpoints are forked on Linux only")


@pytest.fixture
def frames(scene, concepts, camera):
    return make_frames(scene, concepts, camera, 5)


def test_the_child_writes_the_map_as_of_the_fork_without_a_snapshot_copy(tmp_path, frames, monkeypatch):
    def no_copy(self):
        raise AssertionError("the forked checkpoint must not copy a snapshot here")

    monkeypatch.setattr(VoxelMap, "begin_snapshot", no_copy)
    memory = DurableMemory(tmp_path, CONFIG, fork_checkpoints=True)
    memory.ingest([ingest_of(f) for f in frames[:3]])
    assert memory.checkpoint() is None  # in the background: the child was forked, this process goes on
    memory.ingest([ingest_of(f) for f in frames[3:]])  # changes after the fork are not in the checkpoint
    memory._saver.join()
    assert memory.last_checkpoint == "ckpt-000001" and memory.wal.segments() == [2]
    crash(memory)
    reopened = DurableMemory(tmp_path, CONFIG, fork_checkpoints=True)
    assert reopened.replayed == 2  # the checkpoint held exactly the first three frames
    assert_same(reopened.map, reference(frames))
    crash(reopened)


def test_the_threaded_writer_remains_where_fork_is_not_asked_for(tmp_path, frames, monkeypatch):
    def no_fork(*args, **kwargs):
        raise AssertionError("no child unless fork_checkpoints")

    monkeypatch.setattr(forked, "ChildWriter", no_fork)
    memory = DurableMemory(tmp_path, CONFIG)
    memory.ingest([ingest_of(f) for f in frames[:3]])
    assert memory.checkpoint(wait=True) == "ckpt-000001"
    crash(memory)
    reopened = DurableMemory(tmp_path, CONFIG, fork_checkpoints=True)
    assert reopened.replayed == 0
    assert_same(reopened.map, reference(frames[:3]))
    crash(reopened)


def test_a_child_that_fails_reports_it_and_the_log_keeps_every_frame(tmp_path, frames, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    memory = DurableMemory(tmp_path, CONFIG, fork_checkpoints=True)
    memory.ingest([ingest_of(f) for f in frames[:3]])
    monkeypatch.setattr(durable, "save_map", disk_full)  # the child runs this process's code as of the fork
    with pytest.raises(Mem3dError, match="checkpoint failed: the checkpoint writer .* ended with status 1"):
        memory.checkpoint(wait=True)
    assert memory.last_checkpoint is None and memory.wal.segments() == [1, 2]
    crash(memory)
    reopened = DurableMemory(tmp_path, CONFIG, fork_checkpoints=True)
    assert reopened.replayed == 3
    assert_same(reopened.map, reference(frames[:3]))
    crash(reopened)


CHILD_OF_A_KILLED_PARENT = """
import sys, time
from mem3d.service.forked import ChildWriter
child = ChildWriter(lambda: time.sleep(60), nice=0)
print(child.pid, flush=True)
time.sleep(60)
"""


def running(pid: int) -> bool:
    """Whether ``pid`` still runs (an ended child nobody reaped yet is a zombie: state Z)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_child_ends_when_the_service_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", CHILD_OF_A_KILLED_PARENT], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert running(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not running(child):
                return
            time.sleep(0.05)
        raise AssertionError(f"the checkpoint writer {child} outlived its killed parent")
    finally:
        parent.kill()


def test_a_fork_that_fails_falls_back_to_the_threaded_writer(tmp_path, frames, monkeypatch, caplog):
    def no_memory(*args, **kwargs):
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(forked, "ChildWriter", no_memory)
    memory = DurableMemory(tmp_path, CONFIG, fork_checkpoints=True)
    memory.ingest([ingest_of(f) for f in frames[:3]])
    assert memory.checkpoint(wait=True) == "ckpt-000001"
    assert any("could not fork the checkpoint writer" in r.getMessage() for r in caplog.records)
    crash(memory)
    reopened = DurableMemory(tmp_path, CONFIG)
    assert reopened.replayed == 0
    assert_same(reopened.map, reference(frames[:3]))
    crash(reopened)
