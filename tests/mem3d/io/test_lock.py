"""One writer per store: the flock on LOCK, between real processes."""

import subprocess
import sys

import pytest

from mem3d.errors import StoreError
from mem3d.io.checkpoint import save_map
from mem3d.io.lock import StoreLock, lock_holder

HOLDER = ("import sys; from mem3d.io.lock import StoreLock; StoreLock.acquire(sys.argv[1]); "
          "print('held', flush=True); input()")


@pytest.fixture
def holder(tmp_path):
    """Another process holding ``tmp_path``'s write lock until it is killed."""
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "held\n"
    yield process
    process.kill()
    process.wait()


def test_a_held_store_refuses_another_writer_naming_the_holder(tmp_path, holder, new_map):
    assert lock_holder(tmp_path) == holder.pid
    with pytest.raises(StoreError, match=f"store {tmp_path} is in use by pid {holder.pid}"):
        StoreLock.acquire(tmp_path)
    with pytest.raises(StoreError, match=f"in use by pid {holder.pid}"):
        save_map(new_map, tmp_path)  # a library save too


def test_the_lock_dies_with_its_process(tmp_path, holder):
    holder.kill()  # SIGKILL: no cleanup runs, the kernel releases the flock
    holder.wait()
    assert lock_holder(tmp_path) is None
    lock = StoreLock.acquire(tmp_path)
    assert lock_holder(tmp_path) is not None
    lock.release()
    assert lock_holder(tmp_path) is None


HOLDER_WITH_A_CHILD = ("import os, sys, time; from mem3d.io.lock import StoreLock; StoreLock.acquire(sys.argv[1]); "
                       "child = os.fork()\n"
                       "if child == 0:\n    time.sleep(1.0); os._exit(0)\n"  # shares the lock a moment longer
                       "print('held', flush=True); input()")


def test_a_lock_whose_writer_died_is_taken_once_a_child_sharing_it_ends(tmp_path):
    """A killed service's forked checkpoint writer holds the lock with it for a moment: a restart waits."""
    process = subprocess.Popen([sys.executable, "-c", HOLDER_WITH_A_CHILD, str(tmp_path)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "held\n"
    process.kill()
    process.wait()
    assert lock_holder(tmp_path) == process.pid  # the child still holds it; the named writer is gone
    lock = StoreLock.acquire(tmp_path)  # waits for the child instead of refusing
    assert lock.held
    lock.release()
