"""Populating the pages of reserved columns before the rows are first written, in a helper thread.

The first write to a page of a reserved column (``mem3d.map.store``) makes the kernel find and zero a
page. On the benchmark's VM that costs about 1.5 ms per MB: 2-3 ms of a frame that adds 3,500 voxels,
and up to 15 ms at once when a 2 MB huge page must be compacted. A ``Prefaulter`` asks the kernel to
populate the next rows ahead of the writer, with ``madvise(MADV_POPULATE_WRITE)`` (Linux >= 5.14)
from one daemon thread shared by all stores, the GIL released. Populating changes no data, so it may
run while the writer writes. Where the call is missing or refused, nothing is populated and the
writer pays the faults as before.
"""

from __future__ import annotations

import ctypes
import os
import queue
import threading
import weakref

import numpy as np

MADV_POPULATE_WRITE = 23
PAGE = 4096
MIN_AHEAD = 1024
"""Rows kept populated ahead of the smallest maps."""


def _load_madvise():
    try:
        madvise = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):  # pragma: no cover - not a libc platform
        return None
    madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    madvise.restype = ctypes.c_int
    return madvise


_madvise = _load_madvise()
_requests: queue.SimpleQueue = queue.SimpleQueue()
_worker: threading.Thread | None = None
_worker_lock = threading.Lock()


def populate(array: np.ndarray, lo: int, hi: int) -> bool:
    """Populate the pages of rows [lo, hi) of a C-contiguous ``array`` for writing; False if the
    kernel cannot (the data is never changed)."""
    if _madvise is None or hi <= lo:
        return _madvise is not None
    row_bytes = array.strides[0]
    start = array.ctypes.data + lo * row_bytes
    aligned = start - start % PAGE
    return _madvise(aligned, start - aligned + (hi - lo) * row_bytes, MADV_POPULATE_WRITE) == 0


class Prefaulter:
    """Keeps the rows of some columns populated ``ahead`` rows beyond what the writer has asked for."""

    def __init__(self, arrays: list[np.ndarray], ahead: int) -> None:
        self._arrays = arrays
        self._ahead = int(ahead)
        self._requested = 0
        self.populated = 0
        """Rows [0, populated) have been populated (by the helper thread)."""
        self.enabled = _madvise is not None

    def reach(self, rows: int) -> None:
        """The writer now uses rows [0, ``rows``): populate the next ones if fewer than half of those
        to keep ahead are left (in the helper thread; returns at once). A small map keeps fewer rows
        ahead, an eighth of its own (at least ``MIN_AHEAD``), so that what it commits stays close to
        what it uses."""
        ahead = min(self._ahead, max(MIN_AHEAD, rows // 8))
        if not self.enabled or rows + ahead // 2 <= self._requested:
            return
        lo = max(rows, self._requested)
        hi = min(rows + ahead, self._arrays[0].shape[0])
        self._requested = hi
        _start_worker()
        _requests.put((weakref.ref(self), lo, hi))

    def _populate(self, lo: int, hi: int) -> None:
        for array in self._arrays:
            if not populate(array, lo, hi):
                self.enabled = False  # refused (an older kernel): leave the faults to the writer
                return
        self.populated = hi


def _start_worker() -> None:
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = threading.Thread(target=_serve, name="mem3d-prefault", daemon=True)
            _worker.start()


def _forget_worker() -> None:
    """In a forked child: the helper thread was not copied, so start another when needed."""
    global _worker, _requests, _worker_lock
    _worker, _requests, _worker_lock = None, queue.SimpleQueue(), threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_worker)


def _serve() -> None:
    while True:
        ref, lo, hi = _requests.get()
        prefaulter = ref()
        if prefaulter is not None and prefaulter.enabled:
            prefaulter._populate(lo, hi)
