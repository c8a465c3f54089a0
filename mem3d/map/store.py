"""Struct-of-arrays voxel storage: plain arrays, no algorithms.

Live voxels occupy slots [0, n) of every column, so whole-map operations (search, eviction, saving)
work on contiguous slices without masks. Removing voxels moves the last live voxels into the holes
and reports the moves so the spatial index can follow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

GROWTH = 1.5
"""Capacity grows by this factor: allocated bytes stay within 1.5x of the live voxels' bytes."""


@dataclass(frozen=True)
class Column:
    name: str
    dtype: np.dtype
    width: int  # 0 = scalar per voxel


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


class VoxelStore:
    """Growable columns of per-voxel data; ``n`` voxels are live in slots [0, n)."""

    def __init__(self, feature_dim: int, capacity: int = 1024) -> None:
        self.feature_dim = int(feature_dim)
        self.columns = columns_for(self.feature_dim)
        self.n = 0
        self._arrays = {c.name: self._allocate(c, max(capacity, 1)) for c in self.columns}

    @staticmethod
    def _allocate(column: Column, capacity: int) -> np.ndarray:
        shape = (capacity,) if column.width == 0 else (capacity, column.width)
        return np.zeros(shape, dtype=column.dtype)

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

    def append(self, count: int) -> np.ndarray:
        """Make room for ``count`` new voxels at the end; returns their slots (zero-filled data)."""
        self.reserve(self.n + count)
        slots = np.arange(self.n, self.n + count, dtype=np.int64)
        for array in self._arrays.values():
            array[self.n:self.n + count] = 0  # slots freed by removals hold stale data
        self.n += count
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
        return movers, holes

    def nbytes(self) -> int:
        """Bytes held by the columns, free capacity included."""
        return sum(array.nbytes for array in self._arrays.values())


COPY_CHUNK_ROWS = 16384
"""Rows copied per ``ColumnCopy.step``: about 9 MB at D = 512, a few milliseconds."""


class ColumnCopy:
    """The live rows of a store's columns copied into new arrays of ``capacity`` rows, a chunk at a
    time, so that a service can answer queries in between. The store must not change meanwhile.
    ``on_done`` is called with the copy when the last rows are copied."""

    def __init__(self, store: VoxelStore, capacity: int,
                 on_done: Callable[[ColumnCopy], None] | None = None) -> None:
        self.store, self.n, self.copied, self.done = store, store.n, 0, False
        self.arrays = {c.name: store._allocate(c, capacity) for c in store.columns}
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
