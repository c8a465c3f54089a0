"""Checkpoint files written by a forked child process: its copy of memory is the snapshot (Linux).

``fork`` gives the child a copy-on-write image of the service as it is at that instant, so the
checkpoint needs no snapshot copy, and the child's CPU time (zarr, compression, checksums) is spent
outside this process: it never holds this process's GIL, which the queries need. The parent goes on
at once; each page it writes afterwards is copied once by the kernel.

The child runs only the given work, in the one thread ``fork`` keeps, at a lower CPU priority, with
Blosc's thread pool off (the parent's pool threads do not exist in it; zarr resets its own I/O thread
after a fork), and ends with ``os._exit`` (nothing of the parent's is flushed or closed twice). It
holds the store's write lock with the parent (``flock`` belongs to the open file both share), and it
dies with the parent: it watches a pipe only the parent holds open, so a killed service never leaves
a writer behind.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable

from mem3d.service.priority import lower_thread_priority

log = logging.getLogger("mem3d.service")
AVAILABLE = hasattr(os, "fork") and sys.platform.startswith("linux")
"""Whether checkpoints can be written by a forked child here (elsewhere: by a thread).

Forking is safe only where no other thread can be inside a multi-threaded BLAS call at that moment:
OpenBLAS shuts its thread pool down when the process forks, under such a call, which then waits for
its workers for ever. The service runs numpy's and scipy's BLAS on one thread
(``ServiceConfig.blas_threads`` = 1, the default), and only then asks for forked checkpoints."""
POLL_S = 0.02


class ChildWriter:
    """A forked child running ``work``; ``wait`` for its exit status."""

    def __init__(self, work: Callable[[], None], nice: int) -> None:
        """Fork now (call it where the state ``work`` reads is consistent)."""
        watch_read, self._watch_write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns
            os.close(self._watch_write)
            _run_child(work, nice, watch_read)
        os.close(watch_read)

    def wait(self, timeout_s: float) -> int:
        """The child's exit status (0 = the work succeeded); after ``timeout_s`` s it is killed (-9)."""
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    return os.waitstatus_to_exitcode(status)
                if time.monotonic() > deadline:
                    log.error("the checkpoint writer (pid %d) took over %.0f s: killing it", self.pid, timeout_s)
                    os.kill(self.pid, 9)
                    return os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
                time.sleep(POLL_S)
        finally:
            os.close(self._watch_write)


def _run_child(work: Callable[[], None], nice: int, watch_read: int) -> None:
    code = 1
    try:
        threading.Thread(target=_exit_with_parent, args=(watch_read,), daemon=True).start()
        lower_thread_priority(nice)  # before zarr starts its threads: they inherit it
        try:
            import numcodecs.blosc

            numcodecs.blosc.use_threads = False
        except ImportError:
            pass
        work()
        code = 0
    except BaseException:
        log.exception("the checkpoint writer failed")
    finally:
        os._exit(code)


def _exit_with_parent(watch_read: int) -> None:
    """Block until the parent's end of the pipe closes (it ended, or was killed), then end at once."""
    while os.read(watch_read, 1):
        pass
    os._exit(1)
