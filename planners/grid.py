"""The planner's copy of the memory's traversability grid, patched window by window (``occupancy``
with ``since_seq``), and the costs planning reads from it.

Frames: world z up, metres. Cells are the memory's global cells (``mem3d.nav.traversability``): local
cell (row, col) of this copy is global (row0 + row, col0 + col) and covers x in [(col0 + col) * cell_m, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from mem3d.nav.traversability import FREE, INFLATED, OCCUPIED, UNKNOWN, OccupancyGrid

ALL = (slice(None), slice(None))
_GROW = 32
"""Cells of margin added when the copy grows."""


@dataclass(frozen=True)
class CostConfig:
    """Step costs per metre by cell state (free = 1); blocked cells cannot be entered."""

    unknown: float = 3.0
    """Unseen cells may be crossed (the floor between sampled points is often unseen), at a price."""
    inflated: float = 30.0
    """Cells within the robot radius of an obstacle: entered only to get out of them."""
    hole_fill_neighbours: int = 5
    """An unknown cell with at least this many free 8-neighbours counts as free (a sampling hole)."""


class PlanningGrid:
    """Codes and last-seen stamps of every cell the memory has told about, in global cells."""

    def __init__(self, cell_m: float = 0.05, costs: CostConfig | None = None) -> None:
        self.cell_m = float(cell_m)
        self.costs = costs or CostConfig()
        self.row0 = self.col0 = 0
        self.codes = np.zeros((0, 0), np.int8)
        self.last_seen = np.zeros((0, 0), np.float64)
        self.bumped = np.zeros((0, 0), bool)
        """Cells where the robot's motion was blocked though the map showed nothing (its own evidence)."""
        self.driven = np.zeros((0, 0), bool)
        """Cells the robot's centre drove over: free, whether or not the camera ever saw their floor."""
        self.seq = 0
        self.version = 0
        """Increases whenever a merge changes something."""
        self._cost: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.codes.shape  # type: ignore[return-value]

    # ------------------------------------------------------------------ updates
    def merge(self, window: OccupancyGrid) -> tuple[slice, slice] | None:
        """Paste a window of the memory's grid in; the local slices it covered (None if empty)."""
        self.seq = max(self.seq, window.seq)
        h, w = window.codes.shape
        if h == 0 or w == 0:
            return None
        self._reserve(window.row0, window.col0, window.row0 + h, window.col0 + w)
        r, c = window.row0 - self.row0, window.col0 - self.col0
        area = (slice(r, r + h), slice(c, c + w))
        self.codes[area] = window.codes
        self.last_seen[area] = window.last_seen
        self.bumped[area] &= window.codes == UNKNOWN  # what the map now sees replaces the bump
        self.version += 1
        self._cost = None
        return area

    def bump(self, xy: np.ndarray) -> None:
        """The robot was stopped at ``xy`` facing on: block the cell just ahead (``xy`` is that point)."""
        row, col = self.global_cell(xy)
        self._reserve(row - 1, col - 1, row + 2, col + 2)
        self.bumped[row - self.row0 - 1:row - self.row0 + 2, col - self.col0 - 1:col - self.col0 + 2] = True
        self.version += 1
        self._cost = None

    def drove(self, a: np.ndarray, b: np.ndarray) -> None:
        """The robot's centre went straight from ``a`` to ``b`` (world xy)."""
        a, b = np.asarray(a, np.float64)[:2], np.asarray(b, np.float64)[:2]
        n = max(2, int(np.ceil(np.hypot(*(b - a)) / self.cell_m * 2)) + 1)
        points = np.linspace(a, b, n)
        rows = np.floor(points[:, 1] / self.cell_m).astype(np.int64)
        cols = np.floor(points[:, 0] / self.cell_m).astype(np.int64)
        self._reserve(int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1)
        self.driven[rows - self.row0, cols - self.col0] = True
        self.version += 1
        self._cost = None

    def _reserve(self, r0: int, c0: int, r1: int, c1: int) -> None:
        h, w = self.codes.shape
        if h and r0 >= self.row0 and c0 >= self.col0 and r1 <= self.row0 + h and c1 <= self.col0 + w:
            return
        if h:
            r0, c0 = min(r0, self.row0), min(c0, self.col0)
            r1, c1 = max(r1, self.row0 + h), max(c1, self.col0 + w)
        r0, c0, r1, c1 = r0 - _GROW, c0 - _GROW, r1 + _GROW, c1 + _GROW
        at = (self.row0 - r0, self.col0 - c0)
        for name, fill in (("codes", UNKNOWN), ("last_seen", -np.inf), ("bumped", False), ("driven", False)):
            old = getattr(self, name)
            new = np.full((r1 - r0, c1 - c0), fill, dtype=old.dtype)
            new[at[0]:at[0] + old.shape[0], at[1]:at[1] + old.shape[1]] = old
            setattr(self, name, new)
        self.row0, self.col0 = r0, c0

    # ------------------------------------------------------------------ cells and points
    def global_cell(self, xy: np.ndarray) -> tuple[int, int]:
        x, y = np.asarray(xy, np.float64)[:2]
        return int(np.floor(y / self.cell_m)), int(np.floor(x / self.cell_m))

    def cell(self, xy: np.ndarray) -> tuple[int, int]:
        """Local (row, col) of a world point (may lie outside the copy)."""
        row, col = self.global_cell(xy)
        return row - self.row0, col - self.col0

    def inside(self, row: int, col: int) -> bool:
        return 0 <= row < self.shape[0] and 0 <= col < self.shape[1]

    def center(self, rows, cols) -> np.ndarray:
        """World xy (..., 2) of local cells' centres."""
        return np.stack([(self.col0 + np.asarray(cols) + 0.5) * self.cell_m,
                         (self.row0 + np.asarray(rows) + 0.5) * self.cell_m], axis=-1)

    # ------------------------------------------------------------------ what planning reads
    def free(self, sub: tuple[slice, slice] = ALL) -> np.ndarray:
        """Bool mask of free cells (in the local window ``sub``), sampling holes (unknown cells among
        free ones) filled."""
        codes = self.codes[sub]
        free = codes == FREE
        neighbours = ndimage.convolve(free.astype(np.uint8), np.ones((3, 3), np.uint8), mode="constant")
        holes = (codes == UNKNOWN) & ((neighbours >= self.costs.hole_fill_neighbours) | self.driven[sub])
        return (free | holes) & ~self.bumped[sub]

    def unknown(self, sub: tuple[slice, slice] = ALL, free: np.ndarray | None = None) -> np.ndarray:
        """Bool mask of cells nothing was seen in (holes excluded), in ``sub``; ``free`` = ``free(sub)``."""
        free = self.free(sub) if free is None else free
        return (self.codes[sub] == UNKNOWN) & ~free & ~self.bumped[sub]

    def blocked(self) -> np.ndarray:
        return (self.codes == OCCUPIED) | self.bumped

    def cost(self) -> np.ndarray:
        """(H, W) float64 cost per metre of entering each cell; inf = blocked."""
        if self._cost is None:
            cost = np.full(self.shape, self.costs.unknown)
            cost[self.free()] = 1.0
            cost[self.codes == INFLATED] = self.costs.inflated
            cost[self.blocked()] = np.inf
            self._cost = cost
        return self._cost
