"""Reaching a candidate: where the robot may stop to look at it, and whether the memory's answer after
a look is the same object.

World frame, metres (floor plane). A candidate is a ``mem3d.types.Candidate``; its box grows as the
robot sees more of the object on the way, so the navigator asks again after each segment and stops as
soon as where it stands is a standoff of the newest box (the ObjectNav stop is "near it, with it in
view", not "at the spot planned from the first glimpse").
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from mem3d.nav.traversability import INFLATED, OCCUPIED
from mem3d.types import Candidate
from planners.goals import StandoffConfig, box_distance, standoff_cells
from planners.grid import PlanningGrid


def standing_extent(grid: PlanningGrid, candidate: Candidate) -> Candidate:
    """The candidate with its footprint cut to the occupied cells inside it (what stands there):
    labels that bled onto the floor round an object (a mask off by a few pixels, noisy depth) widen
    its box over free floor, and a standoff from that box can be too far from the object. Unchanged
    when nothing inside it is occupied (something lower than the obstacle band)."""
    (r0, c0), (r1, c1) = grid.cell(np.asarray(candidate.bbox_min[:2])), grid.cell(np.asarray(candidate.bbox_max[:2]))
    r0, c0 = max(r0, 0), max(c0, 0)
    r1, c1 = min(r1, grid.shape[0] - 1), min(c1, grid.shape[1] - 1)
    if r1 < r0 or c1 < c0:
        return candidate
    rows, cols = np.nonzero(grid.codes[r0:r1 + 1, c0:c1 + 1] == OCCUPIED)
    if not len(rows):
        return candidate
    lo = grid.center(rows.min() + r0, cols.min() + c0) - grid.cell_m / 2
    hi = grid.center(rows.max() + r0, cols.max() + c0) + grid.cell_m / 2
    (x0, y0, z0), (x1, y1, z1) = candidate.bbox_min, candidate.bbox_max
    return replace(candidate, bbox_min=(max(x0, float(lo[0])), max(y0, float(lo[1])), z0),
                   bbox_max=(min(x1, float(hi[0])), min(y1, float(hi[1])), z1))


def standoff_mask(grid: PlanningGrid, candidate: Candidate, config: StandoffConfig,
                  camera_z: float | None = None) -> np.ndarray:
    """(H, W) bool: where to stop for ``candidate`` (its ``standing_extent``). Free cells with a clear
    sight line to it (in the floor plane; over the support it stands on for a camera at ``camera_z``,
    world z metres); else free cells without one (the camera looks down over a table it stands on);
    else any enterable cell a little farther out. All False when there is none."""
    candidate = standing_extent(grid, candidate)
    mask = standoff_cells(grid, candidate, config, camera_z=camera_z)
    if not mask.any():
        mask = standoff_cells(grid, candidate, config, need_view=False)
    if not mask.any():
        relaxed = StandoffConfig(config.min_m, config.max_m + 0.1)
        mask = standoff_cells(grid, candidate, relaxed, free=np.isfinite(grid.cost()), need_view=False)
    return mask


def may_stop_at(grid: PlanningGrid, candidate: Candidate, xy: np.ndarray, config: StandoffConfig,
                camera_z: float | None = None) -> bool:
    """Whether the robot at ``xy`` (camera at height ``camera_z``) already stands where ``standoff_mask``
    would send it first (a free cell with a clear sight line, at a standoff from the ``standing_extent``)."""
    row, col = grid.cell(np.asarray(xy, float))
    return grid.inside(row, col) and bool(
        standoff_cells(grid, standing_extent(grid, candidate), config, camera_z=camera_z)[row, col])


def step_in(grid: PlanningGrid, candidate: Candidate, xy: np.ndarray, config: StandoffConfig) -> np.ndarray:
    """(H, W) bool: where to stop on the straight line from ``xy`` towards the candidate's centroid (the
    cells at a standoff from its ``standing_extent`` nearest to ``xy``), when the robot at ``xy`` has just
    seen it: a camera moved along its sight line towards the object looks at it along a line that lies
    above the old one, so what did not hide it does not hide it there either. All False when the line
    meets an obstacle or its inflation before it gets there (floor not seen yet, as near the robot
    below the camera's view, may be crossed: the move is checked and replanned if blocked)."""
    extent = standing_extent(grid, candidate)
    start, target = np.asarray(xy, float), np.asarray(candidate.centroid[:2], float)
    n = max(2, int(np.ceil(np.hypot(*(target - start)) / grid.cell_m * 2)) + 1)
    points = start + np.linspace(0.0, 1.0, n)[:, None] * (target - start)
    distance = box_distance(points, extent.bbox_min, extent.bbox_max)
    mask = np.zeros(grid.shape, bool)
    open_cells = np.isfinite(grid.cost()) & (grid.codes != INFLATED)
    for point, d in zip(points, distance):
        row, col = grid.cell(point)
        if d < config.min_m or not grid.inside(row, col) or not open_cells[row, col]:
            break
        if d <= config.max_m:
            mask[row, col] = True
    return mask


def within_reach(grid: PlanningGrid, candidate: Candidate, xy: np.ndarray, config: StandoffConfig) -> bool:
    """Whether ``xy`` is at most ``config.max_m`` from the candidate's ``standing_extent``."""
    extent = standing_extent(grid, candidate)
    return float(box_distance(np.asarray(xy, float), extent.bbox_min, extent.bbox_max)) <= config.max_m


def same_object(a: Candidate, b: Candidate, radius_m: float) -> bool:
    """Either's centroid within ``radius_m`` of the other's box footprint."""
    return min(float(box_distance(np.asarray(a.centroid[:2]), b.bbox_min, b.bbox_max)),
               float(box_distance(np.asarray(b.centroid[:2]), a.bbox_min, a.bbox_max))) <= radius_m


def grew(old: Candidate, new: Candidate, by_m: float) -> bool:
    """Whether ``new``'s footprint reaches more than ``by_m`` past ``old``'s on some side."""
    lo = np.asarray(old.bbox_min[:2]) - np.asarray(new.bbox_min[:2])
    hi = np.asarray(new.bbox_max[:2]) - np.asarray(old.bbox_max[:2])
    return bool(max(lo.max(), hi.max()) > by_m)
