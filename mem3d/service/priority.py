"""Checkpoints are written at a lower CPU priority than queries are answered (Linux).

A checkpoint of 650k voxels cost about 2 s of CPU with zstd (compression and checksums of 375 MB;
LZ4 now costs less, ``mem3d.io.checkpoint``), most of it in zarr's I/O thread and the codec threads
that thread starts. On the 2-core development VM, with paced clients, the queries answered while one
was written waited for a core 4x longer (3.6 ms against 0.8 ms a query) and their p99 tripled. Linux
schedules every thread as a task with its own nice value, inherited by the threads it starts, so the
service starts zarr's I/O thread from a thread a few steps nicer (zarr starts it on first use): the
checkpoint then takes the CPU time the queries and frames leave, and they get a core first. Only
checkpoints and start-up loading use zarr in the service.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

log = logging.getLogger("mem3d.service")
CHECKPOINT_NICE = 10
"""Nice value added to the threads that write checkpoints (a 10x smaller share of a contended core)."""


def lower_thread_priority(increment: int) -> bool:
    """Make the calling thread ``increment`` nicer (Linux only: elsewhere ``setpriority`` would renice
    the whole process); True if it was done. Raising one's own nice value needs no privilege."""
    if increment <= 0 or not sys.platform.startswith("linux"):
        return False
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + increment))
    except OSError as error:  # a sandbox without the call: the thread keeps its priority
        log.debug("could not lower the priority of thread %s: %s", threading.current_thread().name, error)
        return False
    return True


def start_zarr_threads_nicer(increment: int = CHECKPOINT_NICE) -> None:
    """Have zarr start its I/O thread now, from a thread ``increment`` nicer, so that it and the codec
    threads it starts run nicer too. Without effect where zarr's thread already runs (zarr was used in
    this process before) or off Linux."""
    def start() -> None:
        if lower_thread_priority(increment):
            import zarr

            zarr.create_array(store=zarr.storage.MemoryStore(), shape=(1,), dtype="i1")  # starts the thread

    starter = threading.Thread(target=start, name="mem3d-zarr-start", daemon=True)
    starter.start()
    starter.join()
