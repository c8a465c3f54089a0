"""Struct-of-arrays voxel storage: plain arrays, no algorithms.

Live voxels occupy slots [0, n) of every column, so whole-map operations (search, eviction, saving)
work on contiguous slices without masks. Removing voxels moves the last live voxels into the holes
and reports the moves so the spatial index can follow.

**Reserved, not grown.** By default the columns are allocated once with room for as many voxels as
the machine's physical memory could hold (``reserved_rows``). ``numpy.zeros`` of that size is backed by
pages the kernel commits only when they are first written, so the untouched reservation costs address
space, not memory, and appending never copies the columns. ``nbytes`` counts the rows ever used (the
committed pages). A store created with an explicit ``capacity`` (and one that outgrows its
reservation, which would no longer fit in memory anyway) grows by one copy of 1.5x. Up to a reservation's
next ``PREFAULT_ROWS`` rows are populated ahead of the writer by a helper thread (``mem3d.map.prefault``),
so that appending does not wait for the kernel to zero pages.

**Change tracking.** Once ``track_changes`` is called, every slot written (appended, filled by a
removal, or marked by the writer with ``mark_changed``) is remembered until ``take_changed``, so that a
replica can copy just those rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mem3d.map.bound_pages import BoundPages
from mem3d.map.prefault import Prefaulter

GROWTH = 1.5
"""Beyond its capacity a store grows by this factor (one copy of the columns)."""
PAGE_BYTES = 4096
MIN_RESERVED_ROWS = 1 << 16
"""The reservation is halved on MemoryError (a strict overcommit policy or an address-space limit)
down to this many rows; beyond it the store grows by copying."""
PREFAULT_ROWS = 1 << 14
"""Rows of a reservation kept populated ahead of the live ones (``mem3d.map.prefault``) once the map
holds 8x as many: 10 MB at D = 512, four frames of 4,000 new voxels."""


@dataclass(frozen=True)
class Column:
    name: str
    dtype: np.dtype
    width: int  # 0 = scalar per voxel

    @property
    def row_bytes(self) -> int:
        return self.dtype.itemsize * max(self.width, 1)


def columns_for(feature_dim: int) -> tuple[Column, ...]:
    """The per-voxel columns, in the order they are stored and saved."""
    return (
        Column("key", np.dtype(np.int64), 0),            # packed voxel coordinates (mem3d.map.keys)
        Column("position", np.dtype(np.float32), 3),     # weighted mean of the points, world metres
        Column("color", np.dtype(np.uint8), 3),          # weighted mean RGB
        Column("weight", np.dtype(np.float32), 0),       # number of points fused (capped)
        Column("feature", np.dtype(np.int8), feature_dim),  # unit feature = feature * feature_scale
        Column("feature_scale", np.dtype(np.float32), 0),
        Column("first_seen", np.dtype(np.float64), 0),   # stamps, seconds
        Column("last_seen", np.dtype(np.float64), 0),
        Column("last_obs_id", np.dtype(np.int64), 0),    # last observation that saw the voxel
        Column("code", np.dtype(np.int32), 0),           # feature index: nearest codebook centroid
        Column("bound_slack", np.dtype(np.float32), 0),  # |feature - centroid| - drift: query bound
    )


def reserved_rows(row_bytes: int) -> int:
    """Voxels of ``row_bytes`` that the machine's physical memory could hold: the default reservation.

    Each column is then a single allocation smaller than physical memory, which Linux's default
    (heuristic) overcommit accepts without committing anything.
    """
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return max(MIN_RESERVED_ROWS, physical // row_bytes)


def _allocate(column: Column, capacity: int) -> np.ndarray:
    shape = (capacity,) if column.width == 0 else (capacity, column.width)
    return np.zeros(shape, dtype=column.dtype)


class VoxelStore:
    """Columns of per-voxel data; ``n`` voxels are live in slots [0, n).

    ``capacity`` None reserves ``reserved_rows`` (see the module docstring); a number allocates that
    many rows (grown by copying when full).
    """

    def __init__(self, feature_dim: int, capacity: int | None = None) -> None:
        self.feature_dim = int(feature_dim)
        self.columns = columns_for(self.feature_dim)
        self.n = 0
        self._used = 0
        """High-water mark of ``n``: rows [0, _used) have been written (their pages are committed)."""
        self._changed: list[np.ndarray] | None = None
        self.bounds = BoundPages()
        """The search bounds by page (``mem3d.map.bound_pages``), kept on every write of ``code`` and
        ``bound_slack``: the store's own (append, remove, assign), and a writer's, which it announces
        with ``note_search_bounds``."""
        self._prefault: Prefaulter | None = None
        if capacity is None:
            self._arrays = self._reserve(reserved_rows(sum(c.row_bytes for c in self.columns)))
            self._prefault = Prefaulter(list(self._arrays.values()), PREFAULT_ROWS)
        else:
            self._arrays = {c.name: _allocate(c, max(capacity, 1)) for c in self.columns}

    def _reserve(self, rows: int) -> dict[str, np.ndarray]:
        while True:
            try:
                return {c.name: _allocate(c, rows) for c in self.columns}
            except MemoryError:
                if rows <= MIN_RESERVED_ROWS:
                    raise
                rows = max(MIN_RESERVED_ROWS, rows // 2)

    def __len__(self) -> int:
        return self.n

    @property
    def capacity(self) -> int:
        return self._arrays["key"].shape[0]

    def array(self, name: str) -> np.ndarray:
        """The whole backing array of a column (including free capacity)."""
        return self._arrays[name]

    def live(self, name: str) -> np.ndarray:
        """A view of the live part [0, n) of a column."""
        return self._arrays[name][: self.n]

    # Typed shortcuts for the columns used on hot paths.
    key = property(lambda self: self._arrays["key"])
    position = property(lambda self: self._arrays["position"])
    color = property(lambda self: self._arrays["color"])
    weight = property(lambda self: self._arrays["weight"])
    feature = property(lambda self: self._arrays["feature"])
    feature_scale = property(lambda self: self._arrays["feature_scale"])
    first_seen = property(lambda self: self._arrays["first_seen"])
    last_seen = property(lambda self: self._arrays["last_seen"])
    last_obs_id = property(lambda self: self._arrays["last_obs_id"])
    code = property(lambda self: self._arrays["code"])
    bound_slack = property(lambda self: self._arrays["bound_slack"])

    def live_columns(self) -> dict[str, np.ndarray]:
        """Views of the live part of every column, by name (valid until the store next changes)."""
        return {c.name: self.live(c.name) for c in self.columns}

    def reserve(self, capacity: int) -> None:
        """Grow every column to hold at least ``capacity`` voxels."""
        grown = self.begin_growth(capacity)
        if grown is not None:
            grown.run()

    def begin_growth(self, capacity: int) -> ColumnCopy | None:
        """A copy of the columns with room for ``capacity`` voxels (grown by ``GROWTH`` at least),
        filled by ``ColumnCopy.step`` and used as the columns once complete; None if there is room."""
        if capacity <= self.capacity:
            return None
        return ColumnCopy(self, max(capacity, int(self.capacity * GROWTH) + 1), on_done=self._adopt)

    def copy_live(self) -> ColumnCopy:
        """A detached copy of the live rows, filled by ``ColumnCopy.step`` (for snapshots)."""
        return ColumnCopy(self, self.n)

    def _adopt(self, copy: ColumnCopy) -> None:
        """Use the complete ``copy`` (of this store, unchanged since it began) as the columns."""
        self._arrays = copy.arrays
        self._prefault = None  # grown by copying: the reservation is gone

    def append(self, count: int) -> np.ndarray:
        """Make room for ``count`` new voxels at the end; returns their slots (zero-filled data)."""
        self.reserve(self.n + count)
        slots = np.arange(self.n, self.n + count, dtype=np.int64)
        stale = min(self.n + count, self._used)  # rows ever used hold stale data; those beyond, zeros
        for array in self._arrays.values():
            array[self.n:stale] = 0
        self._set_live(self.n + count)
        self.bounds.note(slots, self.code[slots], self.bound_slack)
        self.mark_changed(slots)
        return slots

    def remove(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Remove voxels at ``slots`` (unique) by moving the last live voxels into the holes.

        Returns ``(moved_from, moved_to)``: the voxel that lived at ``moved_from[i]`` now lives at
        ``moved_to[i]``.
        """
        slots = np.asarray(slots, dtype=np.int64)
        new_n = self.n - slots.shape[0]
        holes = slots[slots < new_n]
        tail = np.ones(self.n - new_n, dtype=bool)
        tail[slots[slots >= new_n] - new_n] = False
        movers = np.flatnonzero(tail) + new_n
        holes.sort()
        for column in self.columns:
            array = self._arrays[column.name]
            array[holes] = array[movers]
        self.n = new_n
        self.bounds.note(holes, self.code[holes], self.bound_slack)
        self.mark_changed(holes)
        return movers, holes

    def note_search_bounds(self, slots: np.ndarray) -> None:
        """Bring ``bounds`` up to date for the ``code`` and ``bound_slack`` written at ``slots``: a writer
        of those columns (``mem3d.integrate.fusion``) calls it once for all it wrote, before any search."""
        self.bounds.note(slots, self.code[slots], self.bound_slack)

    def assign(self, n: int, slots: np.ndarray, rows: dict[str, np.ndarray]) -> None:
        """Write ``rows`` (column name -> values for ``slots``) and make ``n`` voxels live: how a
        replica follows the store it copies (``VoxelStore.take_changed``)."""
        self.reserve(n)
        for name, values in rows.items():
            self._arrays[name][slots] = values
        self.bounds.note(slots, self.code[slots], self.bound_slack)
        self._set_live(n)

    def _set_live(self, n: int) -> None:
        self.n = n
        self._used = max(self._used, n)
        if self._prefault is not None:
            self._prefault.reach(n)

    # --- change tracking (for replicas) ---------------------------------------------------------

    def track_changes(self) -> None:
        """From now on remember the slots written, until ``take_changed``."""
        self._changed = []

    def mark_changed(self, slots: np.ndarray) -> None:
        """Note that the rows at ``slots`` were written (no-op unless tracking)."""
        if self._changed is not None and slots.size:
            self._changed.append(slots)

    def take_changed(self) -> np.ndarray:
        """Sorted unique live slots written since the last call (tracking must be on)."""
        if self._changed is None:
            raise RuntimeError("the store does not track changes: call track_changes first")
        written = np.unique(np.concatenate(self._changed)) if self._changed else np.empty(0, np.int64)
        self._changed = []
        return written[: np.searchsorted(written, self.n)]

    def nbytes(self) -> int:
        """Bytes of the rows ever used, by page: what the columns commit (the untouched reservation
        is address space only; a store made with an explicit capacity may commit more)."""
        total = 0
        for column in self.columns:
            used = self._used * column.row_bytes
            total += min(self._arrays[column.name].nbytes, -(-used // PAGE_BYTES) * PAGE_BYTES)
        return total + self.bounds.nbytes()


COPY_CHUNK_ROWS = 16384
"""Rows copied per ``ColumnCopy.step``: about 9 MB at D = 512, a few milliseconds."""


class ColumnCopy:
    """The live rows of a store's columns copied into new arrays of ``capacity`` rows, a chunk at a
    time, so that a service can answer queries in between. The store must not change meanwhile.
    ``on_done`` is called with the copy when the last rows are copied."""

    def __init__(self, store: VoxelStore, capacity: int,
                 on_done: Callable[[ColumnCopy], None] | None = None) -> None:
        self.store, self.n, self.copied, self.done = store, store.n, 0, False
        self.arrays = {c.name: _allocate(c, capacity) for c in store.columns}
        self._on_done = on_done

    def step(self, rows: int = COPY_CHUNK_ROWS) -> bool:
        """Copy the next ``rows`` rows of every column; True once everything is copied."""
        if self.done:
            return True
        if self.store.n != self.n:
            raise RuntimeError("the store changed during an incremental copy")
        lo, hi = self.copied, min(self.n, self.copied + rows)
        for name, array in self.arrays.items():
            array[lo:hi] = self.store.array(name)[lo:hi]
        self.copied = hi
        if hi == self.n:
            self.done = True
            if self._on_done is not None:
                self._on_done(self)
        return self.done

    def run(self) -> None:
        """Copy everything that is left at once."""
        self.step(self.n - self.copied)
