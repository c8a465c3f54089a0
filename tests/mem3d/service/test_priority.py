"""Checkpoint threads run nicer than the request loop (Linux: threads are tasks with their own nice)."""

import os
import subprocess
import sys
import threading

import pytest

from mem3d.service.priority import lower_thread_priority

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")


def test_a_thread_lowers_its_own_priority_and_no_other():
    seen = {}

    def body():
        tid = threading.get_native_id()
        before = os.getpriority(os.PRIO_PROCESS, tid)
        seen["done"] = lower_thread_priority(3)
        seen["change"] = os.getpriority(os.PRIO_PROCESS, tid) - before

    main_before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    worker = threading.Thread(target=body)
    worker.start()
    worker.join()
    assert seen["done"] and seen["change"] == min(3, 19 - main_before)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main_before
    assert not lower_thread_priority(0)


def test_zarr_threads_started_by_the_service_run_nicer():
    """In a fresh process (zarr's I/O thread starts once per process): zarr's I/O thread and the codec
    threads of a real write are nicer than the main thread."""
    script = """
import os, tempfile, threading
import numpy as np
from mem3d.service.priority import CHECKPOINT_NICE, start_zarr_threads_nicer
start_zarr_threads_nicer()
import zarr
group = zarr.open_group(tempfile.mkdtemp(), mode="w")
array = group.create_array("x", shape=(400_000,), chunks=(10_000,), dtype="f4")
array[...] = np.arange(400_000, dtype="f4")
main = os.getpriority(os.PRIO_PROCESS, threading.main_thread().native_id)
others = {t.name: os.getpriority(os.PRIO_PROCESS, t.native_id) for t in threading.enumerate()
          if t is not threading.main_thread()}
print(main, min(others.values()), len(others), "zarr_io" in others)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         env={**os.environ}).stdout.split()
    main, lowest, count, has_io = int(out[0]), int(out[1]), int(out[2]), out[3] == "True"
    assert has_io and count >= 2
    assert lowest == min(19, main + 10)
