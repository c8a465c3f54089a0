"""A path from the robot to an object the memory localized, on the memory's traversability grid, with
the project's planner (``planners``: the grid copy, standoff goals, A*, line-of-sight smoothing).

Pure numpy (no rclpy): the node turns the answer into a ``nav_msgs/Path``. World frame, z up, metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mem3d.nav.traversability import OccupancyGrid
from mem3d.types import Candidate
from planners.astar import astar, smooth
from planners.goals import StandoffConfig, standoff_cells
from planners.grid import CostConfig, PlanningGrid


@dataclass(frozen=True)
class PlanConfig:
    standoff: StandoffConfig = field(default_factory=StandoffConfig)
    """Where the path may end: free cells this far from the object's box, with it in view."""
    costs: CostConfig = field(default_factory=CostConfig)


@dataclass(frozen=True)
class PlannedPath:
    """A path or, where there is none, why not."""

    points_xy: np.ndarray
    """(K, 2) world xy waypoints, the robot's own position first and a standoff cell's centre last;
    (0, 2) when no path was found."""
    cost: float
    """Metres times cell costs (free 1, unknown 3, inflated 30); inf when no path was found."""
    reason: str = ""
    """Why there is no path ("" when there is one)."""

    @property
    def found(self) -> bool:
        return len(self.points_xy) > 0


def _none(reason: str) -> PlannedPath:
    return PlannedPath(np.zeros((0, 2)), float("inf"), reason)


def plan_to_candidate(occupancy: OccupancyGrid, start_xy: np.ndarray, candidate: Candidate,
                      config: PlanConfig = PlanConfig()) -> PlannedPath:
    """The cheapest path from ``start_xy`` (world xy, the robot's centre) to a cell from which the
    robot sees ``candidate`` at a standoff, on the memory's grid ``occupancy`` (never through an
    occupied cell; the start cell may be blocked: the robot leaves it)."""
    if not occupancy.codes.size:
        return _none("the memory has no traversability grid yet (no frame integrated)")
    grid = PlanningGrid(occupancy.cell_m, config.costs)
    grid.merge(occupancy)
    start_xy = np.asarray(start_xy, np.float64)[:2]
    start = grid.cell(start_xy)
    if not grid.inside(*start):
        return _none(f"the robot at ({start_xy[0]:.2f}, {start_xy[1]:.2f}) is outside the mapped area")
    goals = standoff_cells(grid, candidate, config.standoff)
    if not goals.any():
        return _none("no free cell in view of the object at the standoff distance")
    cost = grid.cost()
    center = grid.cell(np.asarray(candidate.centroid[:2]))
    path = astar(cost, start, goals, grid.cell_m, center, config.standoff.max_m / grid.cell_m + 1.5)
    if path is None:
        return _none("no free route to the object on the memory's grid")
    waypoints = grid.center(*smooth(path.cells, cost).T)[1:]
    return PlannedPath(np.vstack([start_xy, waypoints]), float(path.cost))
