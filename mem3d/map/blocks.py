"""Spatial hash of voxel blocks: block key -> a row of 512 voxel slots.

Each allocated block (8x8x8 voxels, 40 cm at 5 cm voxels) owns one row of a dense int32 table that
maps its cells to voxel slots (-1 = empty). Lookups hash only the few hundred distinct blocks of a
frame in Python; the per-voxel work is vectorised gathers. The block list doubles as the unit of
frustum culling for carving.

Like the voxel columns (``mem3d.map.store``), the tables are reserved once for as many blocks as the
machine's memory could hold, zero pages the kernel commits only when a block is first allocated;
``nbytes`` counts the rows ever used. An explicit ``capacity`` grows by doubling instead.
"""

from __future__ import annotations

import numpy as np

from mem3d.map.keys import CELLS_PER_BLOCK
from mem3d.map.store import PAGE_BYTES, reserved_rows

EMPTY = -1
_ROW_BYTES = CELLS_PER_BLOCK * 4 + 3 * 8 + 4 + 1
"""Bytes of one block's rows: slots (int32), coords (int64), count (int32), in_use (bool)."""


class BlockIndex:
    """Allocated blocks, their coordinates, occupancy counts and cell -> slot tables."""

    def __init__(self, capacity: int | None = None) -> None:
        self._row_of: dict[int, int] = {}
        self._free_rows: list[int] = []
        rows = reserved_rows(_ROW_BYTES) if capacity is None else max(capacity, 1)
        self.slots = np.zeros((rows, CELLS_PER_BLOCK), dtype=np.int32)  # set to EMPTY as rows are used
        self.coords = np.zeros((rows, 3), dtype=np.int64)
        self.count = np.zeros(rows, dtype=np.int32)
        self.in_use = np.zeros(rows, dtype=bool)
        self._high_water = 0

    def __len__(self) -> int:
        return len(self._row_of)

    def find(self, block_keys: np.ndarray) -> np.ndarray:
        """Rows of the given blocks, -1 for blocks not allocated."""
        get = self._row_of.get
        return np.fromiter((get(k, EMPTY) for k in block_keys.tolist()), dtype=np.int64,
                           count=block_keys.shape[0])

    def find_or_add(self, block_keys: np.ndarray, block_coords: np.ndarray) -> np.ndarray:
        """Rows of the given (unique) blocks, allocating the missing ones."""
        rows = self.find(block_keys)
        missing = np.flatnonzero(rows == EMPTY)
        if missing.size:
            rows[missing] = self._allocate(block_keys[missing], block_coords[missing])
        return rows

    def _allocate(self, block_keys: np.ndarray, block_coords: np.ndarray) -> np.ndarray:
        n_new = block_keys.shape[0]
        reused = [self._free_rows.pop() for _ in range(min(n_new, len(self._free_rows)))]
        fresh = np.arange(self._high_water, self._high_water + n_new - len(reused), dtype=np.int64)
        self._high_water += fresh.shape[0]
        self._reserve(self._high_water)
        self.slots[fresh] = EMPTY  # released rows were emptied when released
        rows = np.concatenate([np.asarray(reused, dtype=np.int64), fresh])
        self._row_of.update(zip(block_keys.tolist(), rows.tolist()))
        self.coords[rows] = block_coords
        self.count[rows] = 0
        self.in_use[rows] = True
        return rows

    def release_empty(self, rows: np.ndarray, block_keys: np.ndarray) -> None:
        """Free the rows among ``rows`` (with their ``block_keys``) whose blocks hold no voxel."""
        empty = self.count[rows] == 0
        for row, key in zip(rows[empty].tolist(), block_keys[empty].tolist()):
            if self._row_of.pop(key, None) is not None:
                self._free_rows.append(row)
                self.in_use[row] = False
                self.slots[row] = EMPTY

    def active_rows(self) -> np.ndarray:
        """Rows of all allocated blocks."""
        return np.flatnonzero(self.in_use[: self._high_water])

    def _reserve(self, capacity: int) -> None:
        old = self.slots.shape[0]
        if capacity <= old:
            return
        new = max(capacity, old * 2)
        self.slots = np.concatenate([self.slots, np.zeros((new - old, CELLS_PER_BLOCK), np.int32)])
        self.coords = np.concatenate([self.coords, np.zeros((new - old, 3), np.int64)])
        self.count = np.concatenate([self.count, np.zeros(new - old, np.int32)])
        self.in_use = np.concatenate([self.in_use, np.zeros(new - old, bool)])

    def nbytes(self) -> int:
        """Bytes of the table rows ever used (by page), plus an estimate of the Python dict (about 100
        bytes a block)."""
        total = 0
        for table in (self.slots, self.coords, self.count, self.in_use):
            used = -(-self._high_water * table[:1].nbytes // PAGE_BYTES) * PAGE_BYTES
            total += min(table.nbytes, used)
        return total + 100 * len(self._row_of)
