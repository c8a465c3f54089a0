"""Frontier exploration targets: where free space meets the unseen, and places not seen for long.

A frontier cell is a free cell (``PlanningGrid.free``) with an unknown 4-neighbour. The mask is kept
incrementally: each merged window of the memory's grid recomputes it only inside that window (grown by
one cell), never over the whole grid. Targets are connected groups of frontier cells (gain = their
size) and, once nothing is left to discover, groups of free cells not seen for ``stale_after_s`` (or,
when nothing is that old, the older half of what was seen; gain = size times age): things move, so
old views are worth renewing. A target's utility is its gain
(capped at ``gain_cap_cells``) times ``metres_per_cell``, less the path cost to it in metres: the
nearest worthwhile frontier first. Failed and visited targets are blacklisted. A revisit (after the
scene may have changed) goes instead for places ``revisit_view_m`` from occupied cells seen long ago:
a new look where things were is what shows they moved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from mem3d.nav.traversability import OCCUPIED
from planners.grid import PlanningGrid


@dataclass(frozen=True)
class FrontierConfig:
    min_cells: int = 6
    """Frontier groups smaller than this are noise (sampling holes at the edge of the view)."""
    gain_cap_cells: int = 40
    """A frontier group counts at most this many cells: beyond, a bigger one is not worth a longer trip."""
    metres_per_cell: float = 0.1
    """Path metres one cell of gain is worth."""
    stale_after_s: float = 60.0
    """Free space not seen for this long becomes worth a revisit (0 = never revisit)."""
    blacklist_radius_m: float = 0.6
    """Targets this close to a failed one are skipped."""
    revisit_view_m: float = 1.2
    """A revisit looks at stale things from about this far (a 1.2 m high camera sees a table top from
    there)."""
    resolved_radius_m: float = 0.5
    """A frontier target with fewer than ``min_cells`` frontier cells left this close to it was
    uncovered by the views on the way: the trip there ends and the next target is chosen."""
    revisited_radius_m: float = 2.0
    """Stale targets this close to one just revisited are skipped (the look-around there renewed what
    the camera can see; the floor near the robot it never sees, so it would stay stale)."""


@dataclass(frozen=True)
class Target:
    """Where to go to see more: a cell to reach (local row, col) and what it is worth."""

    cell: tuple[int, int]
    xy: tuple[float, float]
    gain: float
    kind: str
    """"frontier" (unseen space next to it) or "stale" (seen long ago)."""


class FrontierMap:
    """The frontier mask of a ``PlanningGrid``, updated where the grid changed."""

    def __init__(self, config: FrontierConfig | None = None) -> None:
        self.config = config or FrontierConfig()
        self.mask = np.zeros((0, 0), bool)
        self._origin = (0, 0)
        self.blacklist: list[tuple[np.ndarray, float]] = []
        """World xy of targets that failed or were visited, and the radius (m) they rule out."""

    def update(self, grid: PlanningGrid, area: tuple[slice, slice] | None) -> None:
        """Recompute the mask inside ``area`` (local slices of a merge) grown by one cell; the whole
        mask when the grid moved or grew."""
        if self.mask.shape != grid.shape or self._origin != (grid.row0, grid.col0):
            self.mask = np.zeros(grid.shape, bool)
            self._origin = (grid.row0, grid.col0)
            area = (slice(0, grid.shape[0]), slice(0, grid.shape[1]))
        if area is None:
            return
        inner = _grown(area, 2, grid.shape)  # a changed cell changes the frontier of its neighbours
        outer = _grown(area, 4, grid.shape)  # and reading those needs their neighbours' neighbours
        free = grid.free(outer)
        unknown = grid.unknown(outer, free)
        frontier = free & ndimage.binary_dilation(unknown, structure=ndimage.generate_binary_structure(2, 1))
        at = (slice(inner[0].start - outer[0].start, inner[0].stop - outer[0].start),
              slice(inner[1].start - outer[1].start, inner[1].stop - outer[1].start))
        self.mask[inner] = frontier[at]

    def targets(self, grid: PlanningGrid, now: float, revisit: bool = False) -> list[Target]:
        """Frontier groups (or, when there are none, stale free areas); with ``revisit``, places to look
        at what was seen long ago from (``revisit_targets``). Blacklisted ones are left out."""
        if revisit:
            return self.revisit_targets(grid, now)
        found = self._groups(grid, self.mask, "frontier", lambda cells: float(len(cells)), grid.last_seen)
        if not found and self.config.stale_after_s > 0:
            free = grid.free()
            age = np.where(np.isfinite(grid.last_seen), now - grid.last_seen, 0.0)
            oldest = float(age[free].max(initial=0.0))
            # seen longer ago than stale_after_s; or, when nothing is that old, the older half of what was seen
            stale = free & (age > min(self.config.stale_after_s, 0.5 * oldest)) & (age > 0)
            found = self._groups(grid, stale, "stale",
                                 lambda cells: float(len(cells)) * float(np.minimum(
                                     age[cells[:, 0], cells[:, 1]], 1e6).mean() / self.config.stale_after_s),
                                 -age)
        return found

    def revisit_targets(self, grid: PlanningGrid, now: float) -> list[Target]:
        """Where to renew old views of things: free cells about ``revisit_view_m`` from occupied cells
        (furniture, objects) last seen longer ago than ``stale_after_s`` (or, when nothing is that old,
        the older half), in groups; each group's target is the cell closest to that distance. Things
        move, and only a new look at where they were shows it: the floor matters less."""
        age = np.where(np.isfinite(grid.last_seen), now - grid.last_seen, 0.0)
        things = grid.codes == OCCUPIED
        oldest = float(age[things].max(initial=0.0))
        stale = things & (age > min(self.config.stale_after_s, 0.5 * oldest)) & (age > 0)
        if not stale.any():
            return []
        reach = ndimage.distance_transform_edt(~stale) * grid.cell_m  # metres to the nearest stale thing
        view = self.config.revisit_view_m
        mask = grid.free() & (reach >= 0.5 * view) & (reach <= 1.5 * view)
        return self._groups(grid, mask, "stale", lambda cells: float(len(cells)), np.abs(reach - view))

    def _groups(self, grid: PlanningGrid, mask: np.ndarray, kind: str, gain, rank: np.ndarray) -> list[Target]:
        """Connected groups of ``mask`` with at least ``min_cells`` outside the blacklist; each group's
        target is its member of lowest ``rank`` that is not blacklisted, its gain that of those members."""
        labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
        if count == 0:
            return []
        rows, cols = np.nonzero(labels)
        order = np.argsort(labels[rows, cols], kind="stable")
        rows, cols = rows[order], cols[order]
        bounds = np.searchsorted(labels[rows, cols], np.arange(1, count + 2))
        found = []
        for k in range(count):
            cells = np.stack([rows[bounds[k]:bounds[k + 1]], cols[bounds[k]:bounds[k + 1]]], axis=1)
            if len(cells) < self.config.min_cells:
                continue
            xy = grid.center(cells[:, 0], cells[:, 1])
            allowed = np.ones(len(cells), bool)
            for b, radius in self.blacklist:
                allowed &= np.hypot(*(xy - b).T) >= radius
            if allowed.sum() < self.config.min_cells:  # what the blacklist leaves of it is noise too
                continue
            order = np.flatnonzero(allowed)
            k_best = order[int(np.argmin(rank[cells[order, 0], cells[order, 1]]))]
            pick = cells[k_best]
            found.append(Target((int(pick[0]), int(pick[1])), (float(xy[k_best, 0]), float(xy[k_best, 1])),
                                gain(cells[allowed]), kind))
        return found

    def choose(self, targets: list[Target], distance: np.ndarray) -> Target | None:
        """The target of highest gain less weighted path cost (``distance``: (H, W) from the robot);
        unreachable ones are skipped."""
        best, best_utility = None, -np.inf
        for target in targets:
            d = distance[target.cell]
            if not np.isfinite(d):
                continue
            utility = self.config.metres_per_cell * min(target.gain, self.config.gain_cap_cells) - d
            if utility > best_utility:
                best, best_utility = target, utility
        return best

    def resolved(self, grid: PlanningGrid, xy, radius_m: float) -> bool:
        """Whether fewer than ``min_cells`` frontier cells are left within ``radius_m`` of world ``xy``:
        a frontier target the views on the way there have uncovered."""
        r, c = grid.cell(np.asarray(xy, float))
        k = int(np.ceil(radius_m / grid.cell_m))
        r0, r1 = max(0, r - k), min(self.mask.shape[0], r + k + 1)
        c0, c1 = max(0, c - k), min(self.mask.shape[1], c + k + 1)
        if r1 <= r0 or c1 <= c0:
            return True
        rr, cc = np.mgrid[r0:r1, c0:c1]
        near = np.hypot(rr - r, cc - c) <= k
        return int((self.mask[r0:r1, c0:c1] & near).sum()) < self.config.min_cells

    def forbid(self, xy, radius_m: float | None = None) -> None:
        """Skip targets within ``radius_m`` (default ``blacklist_radius_m``) of ``xy`` from now on."""
        radius = self.config.blacklist_radius_m if radius_m is None else float(radius_m)
        self.blacklist.append((np.asarray(xy, float)[:2].copy(), radius))


def _grown(area: tuple[slice, slice], by: int, shape: tuple[int, int]) -> tuple[slice, slice]:
    return tuple(slice(max(0, part.start - by), min(size, part.stop + by))  # type: ignore[return-value]
                 for part, size in zip(area, shape))
