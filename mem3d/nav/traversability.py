"""A 2D traversability grid kept up to date from ``MapUpdate``s: never a rebuild per frame.

Frames: world z up, metres. Cell (col, row) = (i, j) covers x in [i * cell_m, (i + 1) * cell_m) and y in
[j * cell_m, ...): integer cell coordinates are global, so windows of the grid fit together. Each cell
counts the voxels (by their centres) that lie in it in two height bands above ``floor_z``:

- the floor band, |z - floor_z| <= ``floor_band_m``: floor seen;
- the obstacle band, ``obstacle_min_m`` < z - floor_z <= ``obstacle_max_m``: something the body hits.

A cell with an obstacle voxel is ``OCCUPIED``; one within ``robot_radius_m`` of an occupied cell is
``INFLATED`` (the robot's centre cannot go there); one with floor seen is ``FREE``; anything else is
``UNKNOWN``. An update adds its ``added`` voxels and subtracts its ``removed`` and ``evicted`` ones, so
only the cells they fall in change, and the inflation count around a cell changes only when the cell
turns occupied or stops being so. The arrays grow (with a margin) when voxels fall outside them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mem3d.errors import InvalidInputError
from mem3d.map import keys as voxel_keys
from mem3d.types import MapUpdate

UNKNOWN, FREE, OCCUPIED, INFLATED = 0, 1, 2, 3
"""Cell codes of ``OccupancyGrid.codes``."""
_GROW_MARGIN = 64
"""Cells added beyond the needed extent when the arrays grow."""


@dataclass(frozen=True)
class TraversabilityConfig:
    """Heights above the floor (metres) that make floor and obstacles, and the robot's radius."""

    cell_m: float = 0.05
    floor_z: float = 0.0
    """World z of the floor the robot drives on."""
    floor_band_m: float = 0.06
    """Voxel centres within this of ``floor_z`` are floor."""
    obstacle_min_m: float = 0.10
    """Voxel centres higher than this above the floor are obstacles..."""
    obstacle_max_m: float = 1.5
    """... up to this height (the robot's body); higher things (a ceiling, a shelf top) are not."""
    robot_radius_m: float = 0.18

    def __post_init__(self) -> None:
        for name in ("cell_m", "floor_band_m", "obstacle_max_m"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise InvalidInputError(f"traversability {name} must be a positive number, got {getattr(self, name)}")
        if not (0 <= self.obstacle_min_m < self.obstacle_max_m) or not np.isfinite(self.floor_z):
            raise InvalidInputError("need a finite floor_z and 0 <= obstacle_min_m < obstacle_max_m")
        if not (np.isfinite(self.robot_radius_m) and self.robot_radius_m >= 0):
            raise InvalidInputError(f"robot_radius_m must be >= 0, got {self.robot_radius_m}")


@dataclass(frozen=True)
class OccupancyGrid:
    """A window of the traversability grid, as of one applied frame (world frame, metres, seconds)."""

    codes: np.ndarray
    """(H, W) int8: ``UNKNOWN``, ``FREE``, ``OCCUPIED`` or ``INFLATED``; row = y, column = x."""
    last_seen: np.ndarray
    """(H, W) float64 stamp (s) of the newest frame that saw a voxel in the cell; -inf = never."""
    col0: int
    """Global cell column of ``codes[:, 0]``: x from ``col0 * cell_m``."""
    row0: int
    """Global cell row of ``codes[0]``: y from ``row0 * cell_m``."""
    cell_m: float
    seq: int
    """Write-ahead log sequence number of the newest frame the grid reflects (0 = none)."""
    stamp: float
    """Capture time of that frame, seconds (-inf = none)."""

    @property
    def shape(self) -> tuple[int, int]:
        return self.codes.shape  # type: ignore[return-value]

    @property
    def origin_xy(self) -> tuple[float, float]:
        """World (x, y) of the window's lower corner, metres."""
        return self.col0 * self.cell_m, self.row0 * self.cell_m

    def traversable(self) -> np.ndarray:
        """(H, W) bool: cells the robot's centre can stand on (floor seen, clear of inflated obstacles)."""
        return self.codes == FREE


def _disk(radius_cells: float) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) offsets of the cells whose centres lie within ``radius_cells`` of a cell's centre."""
    r = int(np.floor(radius_cells))
    dr, dc = np.mgrid[-r:r + 1, -r:r + 1]
    inside = np.hypot(dr, dc) <= radius_cells
    return dr[inside].astype(np.int64), dc[inside].astype(np.int64)


class TraversabilityGrid:
    """The grid over a voxel map of edge ``voxel_size``; ``apply`` each ``MapUpdate`` in order."""

    def __init__(self, voxel_size: float, config: TraversabilityConfig | None = None) -> None:
        self.config = config or TraversabilityConfig()
        self.voxel_size = float(voxel_size)
        c = self.config
        # Obstacles within the radius of a cell's centre block it: inflate by the radius plus half a cell.
        self._disk = _disk(c.robot_radius_m / c.cell_m + 0.5) if c.robot_radius_m > 0 else (
            np.zeros(1, np.int64), np.zeros(1, np.int64))
        self._margin = int(np.abs(self._disk[0]).max())
        self.row0 = self.col0 = 0
        self.floor = np.zeros((0, 0), np.int32)
        self.obstacles = np.zeros((0, 0), np.int32)
        self.inflation = np.zeros((0, 0), np.int32)
        self.last_seen = np.zeros((0, 0), np.float64)
        self.changed_seq = np.zeros((0, 0), np.int64)
        """Per cell, the seq of the last frame that changed its code or its last_seen."""
        self.seq = 0
        self.stamp = -np.inf

    # ------------------------------------------------------------------ updates
    @classmethod
    def from_keys(cls, keys: np.ndarray, voxel_size: float, config: TraversabilityConfig | None = None,
                  seq: int = 0, stamp: float = -np.inf) -> TraversabilityGrid:
        """A grid over the live voxels ``keys`` of a map (a restored store), as of frame ``seq``."""
        grid = cls(voxel_size, config)
        empty = np.empty(0, np.int64)
        grid.apply(MapUpdate(0, stamp, np.asarray(keys, np.int64), empty, empty, empty), seq)
        return grid

    def apply(self, update: MapUpdate, seq: int | None = None) -> None:
        """Fold one frame's changes in; ``seq`` is its log sequence number (default: the next one).
        A voxel both carved and added again by the frame counts once, as it ends up."""
        seq = self.seq + 1 if seq is None else int(seq)
        parts = [np.asarray(part, np.int64) for part in (update.removed, update.evicted, update.added,
                                                          update.updated)]
        keys = np.concatenate(parts)
        self.seq, self.stamp = seq, float(update.stamp)
        if not len(keys):
            return
        c = self.config
        coords = voxel_keys.unpack(keys)
        centres = (coords + 0.5) * self.voxel_size
        rows = np.floor(centres[:, 1] / c.cell_m).astype(np.int64)
        cols = np.floor(centres[:, 0] / c.cell_m).astype(np.int64)
        self._reserve(int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max()))
        flat = (rows - self.row0) * self.floor.shape[1] + (cols - self.col0)
        sign = np.repeat(np.array([-1, -1, 1, 0], np.int64), [len(p) for p in parts])
        height = centres[:, 2] - c.floor_z
        counted = sign != 0
        floor = counted & (np.abs(height) <= c.floor_band_m)
        self._count(self.floor, flat[floor], sign[floor])
        obstacle = counted & (height > c.obstacle_min_m) & (height <= c.obstacle_max_m)
        flips, flip_sign = self._count(self.obstacles, flat[obstacle], sign[obstacle])
        seen = flat[sign >= 0]  # added or updated: observed by this frame
        self.last_seen.ravel()[seen] = update.stamp
        self.changed_seq.ravel()[flat] = seq
        if len(flips):
            self.changed_seq.ravel()[self._inflate(flips, flip_sign)] = seq

    def _count(self, counts: np.ndarray, flat: np.ndarray, sign: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Add ``sign[k]`` (+1 or -1 per voxel) to ``counts`` at the flat cell ``flat[k]``; the cells whose
        count crossed 0 and, for each, +1 (now counted) or -1 (now empty)."""
        if not len(flat):
            return np.empty(0, np.int64), np.empty(0, np.int64)
        cells, inverse = np.unique(flat, return_inverse=True)
        delta = np.bincount(inverse, weights=sign, minlength=len(cells)).astype(np.int64)
        view = counts.ravel()
        old = view[cells]
        new = np.maximum(old + delta, 0)  # never below 0, even for a key the grid never counted
        view[cells] = new
        flipped = (old > 0) != (new > 0)
        return cells[flipped], np.where(new[flipped] > 0, 1, -1)

    def _inflate(self, flips: np.ndarray, signs: np.ndarray) -> np.ndarray:
        """Add each flip's sign to the inflation count of the disk around its flat cell; the disks' cells."""
        dr, dc = self._disk
        around = (flips[:, None] + (dr * self.floor.shape[1] + dc)[None, :]).ravel()
        np.add.at(self.inflation.ravel(), around, np.repeat(signs, len(dr)))
        return around

    def _reserve(self, r_lo: int, r_hi: int, c_lo: int, c_hi: int) -> None:
        """Grow the arrays so the cells [r_lo, r_hi] x [c_lo, c_hi] and their inflation disks lie inside."""
        m = self._margin
        lo, hi = np.array([r_lo - m, c_lo - m]), np.array([r_hi + m + 1, c_hi + m + 1])
        h, w = self.floor.shape
        if h and lo[0] >= self.row0 and lo[1] >= self.col0 and hi[0] <= self.row0 + h and hi[1] <= self.col0 + w:
            return
        if h:
            old_lo, old_hi = np.array([self.row0, self.col0]), np.array([self.row0 + h, self.col0 + w])
            # Grow a side that must grow by half the grid's extent at least: a map that keeps extending
            # (a long corridor) then copies the grid O(log n) times, not once every few metres.
            step = np.maximum(_GROW_MARGIN, (old_hi - old_lo) // 2)
            lo = np.where(lo < old_lo, np.minimum(lo, old_lo - step), old_lo)
            hi = np.where(hi > old_hi, np.maximum(hi, old_hi + step), old_hi)
        else:
            lo, hi = lo - _GROW_MARGIN, hi + _GROW_MARGIN
        shape = tuple(int(v) for v in hi - lo)
        at = (self.row0 - int(lo[0]), self.col0 - int(lo[1]))
        for name, fill in (("floor", 0), ("obstacles", 0), ("inflation", 0), ("last_seen", -np.inf),
                           ("changed_seq", 0)):
            old = getattr(self, name)
            new = np.full(shape, fill, dtype=old.dtype)
            new[at[0]:at[0] + old.shape[0], at[1]:at[1] + old.shape[1]] = old
            setattr(self, name, new)
        self.row0, self.col0 = int(lo[0]), int(lo[1])

    # ------------------------------------------------------------------ reads
    def codes(self, window: tuple[slice, slice] = (slice(None), slice(None))) -> np.ndarray:
        """int8 codes (see the module docstring) of a window of the arrays (local rows, cols)."""
        codes = np.where(self.floor[window] > 0, FREE, UNKNOWN).astype(np.int8)
        codes[self.inflation[window] > 0] = INFLATED
        codes[self.obstacles[window] > 0] = OCCUPIED
        return codes

    def occupancy(self, region: tuple[float, float, float, float] | None = None,
                  since_seq: int = 0) -> OccupancyGrid:
        """A window of the grid: ``region`` = (xmin, ymin, xmax, ymax) world metres (None = everything),
        narrowed with ``since_seq`` > 0 to the bounding box of the cells changed after that frame (an
        empty window when none did)."""
        h, w = self.floor.shape
        r0, c0, r1, c1 = 0, 0, h, w
        if region is not None:
            xmin, ymin, xmax, ymax = (float(v) for v in region)
            if not (np.isfinite([xmin, ymin, xmax, ymax]).all() and xmin <= xmax and ymin <= ymax):
                raise InvalidInputError(f"region must be finite (xmin, ymin, xmax, ymax) with min <= max, got {region}")
            cell = self.config.cell_m
            c0 = max(c0, int(np.floor(xmin / cell)) - self.col0)
            r0 = max(r0, int(np.floor(ymin / cell)) - self.row0)
            c1 = min(c1, int(np.floor(xmax / cell)) + 1 - self.col0)
            r1 = min(r1, int(np.floor(ymax / cell)) + 1 - self.row0)
        if since_seq > 0 and r1 > r0 and c1 > c0:
            rows, cols = np.nonzero(self.changed_seq[r0:r1, c0:c1] > since_seq)
            if len(rows):
                r0, r1, c0, c1 = r0 + rows.min(), r0 + rows.max() + 1, c0 + cols.min(), c0 + cols.max() + 1
            else:
                r1, c1 = r0, c0
        window = (slice(r0, max(r0, r1)), slice(c0, max(c0, c1)))
        return OccupancyGrid(self.codes(window), self.last_seen[window].copy(), self.col0 + int(c0),
                             self.row0 + int(r0), self.config.cell_m, self.seq, self.stamp)
