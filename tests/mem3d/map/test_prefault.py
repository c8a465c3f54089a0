"""Populating a reservation's pages ahead changes no data and spares the writer the page faults."""

import mmap
import resource
import time

import numpy as np
import pytest

from mem3d.map import prefault
from mem3d.map.store import PREFAULT_ROWS, VoxelStore


def _kernel_populates() -> bool:
    return prefault.populate(np.zeros((2, prefault.PAGE), dtype=np.int8), 0, 2)


pytestmark = pytest.mark.skipif(not _kernel_populates(),
                                reason="no madvise(MADV_POPULATE_WRITE) here (needs libc and Linux >= 5.14)")


def thread_faults() -> int:
    return resource.getrusage(resource.RUSAGE_THREAD).ru_minflt


def test_populated_rows_keep_their_data_and_take_no_faults_when_written():
    # 64 MB of private zero pages fresh from the kernel (numpy's own allocation may reuse pages an
    # earlier test touched, depending on the allocator the process loaded)
    private = mmap.mmap(-1, 1 << 26, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    array = np.frombuffer(private, dtype=np.int8).reshape(1 << 17, 512)
    array[:100] = 7
    assert prefault.populate(array, 50, 1 << 16)  # overlapping written rows: unchanged
    assert (array[:100] == 7).all() and not array[100: 1 << 16].any()  # populated: reading takes no fault
    before = thread_faults()
    array[100: 1 << 16] = 1
    populated = thread_faults() - before
    before = thread_faults()
    array[1 << 16:] = 1  # the same 32 MB, not populated: 16 huge pages or 8,192 small ones
    assert populated <= 2 and thread_faults() - before >= 16


def test_a_reserved_store_is_populated_ahead_of_its_voxels_in_the_background():
    store = VoxelStore(feature_dim=64)
    assert store._prefault is not None and store._prefault.enabled
    store.append(8 * PREFAULT_ROWS)  # a map this big keeps PREFAULT_ROWS populated ahead
    deadline = time.monotonic() + 10.0
    while store._prefault.populated < 9 * PREFAULT_ROWS and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store._prefault.populated == 9 * PREFAULT_ROWS
    before = thread_faults()
    slots = store.append(PREFAULT_ROWS // 4)
    store.feature[slots] = 3
    assert thread_faults() - before < 20
    assert (store.feature[slots] == 3).all() and not store.feature[: 8 * PREFAULT_ROWS].any()


def test_a_small_map_keeps_few_rows_populated_ahead():
    store = VoxelStore(feature_dim=64)
    store.append(100)
    deadline = time.monotonic() + 10.0
    while store._prefault.populated < 100 + prefault.MIN_AHEAD and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store._prefault.populated == 100 + prefault.MIN_AHEAD
