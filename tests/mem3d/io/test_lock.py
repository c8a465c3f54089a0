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
