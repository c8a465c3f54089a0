"""The sparse voxel grid: voxel storage plus the block hash that finds voxels by coordinates.

Keeps ``VoxelStore`` and ``BlockIndex`` consistent under lookups, insertions and removals. It knows
nothing about features, carving or queries.
"""

from __future__ import annotations

import numpy as np

from mem3d.map import keys as voxel_keys
from mem3d.map.blocks import EMPTY, BlockIndex
from mem3d.map.store import VoxelStore


class VoxelGrid:
    """Voxels addressed by integer coordinates at a fixed ``voxel_size`` (metres)."""

    def __init__(self, voxel_size: float, feature_dim: int, capacity: int | None = None) -> None:
        """``capacity`` None reserves room for as many voxels as memory could hold (``mem3d.map.store``)."""
        self.voxel_size = float(voxel_size)
        self.store = VoxelStore(feature_dim, capacity)
        self.blocks = BlockIndex()

    def __len__(self) -> int:
        return self.store.n

    def _locate(self, coords: np.ndarray, *, create: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Block rows, cells and block keys of voxel coordinates.

        Rows are -1 for blocks that are not allocated, unless ``create`` allocates them.
        """
        block_coords, cells = voxel_keys.block_of(coords)
        block_keys = voxel_keys.pack(block_coords)
        unique_keys, one, inverse = voxel_keys.group(block_keys)
        if create:
            rows = self.blocks.find_or_add(unique_keys, block_coords[one])
        else:
            rows = self.blocks.find(unique_keys)
        return rows[inverse], cells, block_keys

    def lookup(self, coords: np.ndarray) -> np.ndarray:
        """Slots of the voxels at ``coords`` ((N, 3) int64); -1 where there is no voxel."""
        rows, cells, _ = self._locate(coords, create=False)
        slots = np.full(coords.shape[0], EMPTY, dtype=np.int64)
        known = rows >= 0
        slots[known] = self.blocks.slots[rows[known], cells[known]]
        return slots

    def add(self, coords: np.ndarray) -> np.ndarray:
        """Create voxels at ``coords`` (unique, not present yet); returns their new slots."""
        rows, cells, _ = self._locate(coords, create=True)
        return self._insert(rows, cells, coords)

    def lookup_or_add(self, coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Slots of the voxels at ``coords`` ((N, 3) int64, unique), creating the missing ones, and
        which were created: their slots follow each other, ascending in the order of ``coords``.
        The same as ``lookup`` then ``add`` of the missing ones, with one pass over the blocks."""
        rows, cells, _ = self._locate(coords, create=True)
        slots = self.blocks.slots[rows, cells].astype(np.int64)
        is_new = slots == EMPTY
        slots[is_new] = self._insert(rows[is_new], cells[is_new], coords[is_new])
        return slots, is_new

    def _insert(self, rows: np.ndarray, cells: np.ndarray, coords: np.ndarray) -> np.ndarray:
        slots = self.store.append(coords.shape[0])
        self.blocks.slots[rows, cells] = slots
        touched, counts = np.unique(rows, return_counts=True)
        self.blocks.count[touched] += counts.astype(np.int32)
        self.store.key[slots] = voxel_keys.pack(coords)
        return slots

    def remove(self, slots: np.ndarray) -> np.ndarray:
        """Delete the voxels at ``slots`` (unique); returns their keys."""
        slots = np.asarray(slots, dtype=np.int64)
        keys = self.store.key[slots].copy()
        if slots.size == 0:
            return keys
        rows, cells, block_keys = self._locate(voxel_keys.unpack(keys), create=False)
        self.blocks.slots[rows, cells] = EMPTY
        unique_rows, first, counts = np.unique(rows, return_index=True, return_counts=True)
        self.blocks.count[unique_rows] -= counts.astype(np.int32)
        self.blocks.release_empty(unique_rows, block_keys[first])
        _, moved_to = self.store.remove(slots)
        if moved_to.size:
            moved_rows, moved_cells, _ = self._locate(voxel_keys.unpack(self.store.key[moved_to]), create=False)
            self.blocks.slots[moved_rows, moved_cells] = moved_to
        return keys

    def slots_in_blocks(self, rows: np.ndarray) -> np.ndarray:
        """Slots of every voxel inside the given block rows."""
        table = self.blocks.slots[rows].ravel()
        return table[table >= 0].astype(np.int64)

    def block_centers(self, rows: np.ndarray) -> np.ndarray:
        """(B, 3) centres of blocks, world metres."""
        edge = voxel_keys.BLOCK_EDGE * self.voxel_size
        return (self.blocks.coords[rows] + 0.5) * edge

    def nbytes(self) -> int:
        return self.store.nbytes() + self.blocks.nbytes()
