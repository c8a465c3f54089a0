"""The bridge's planned path (ros_bridge.plan) on a memory-style traversability grid: around a wall to
a standoff from the object, never through an occupied cell; a clear reason when there is no path."""

import numpy as np

from mem3d.nav.traversability import FREE, INFLATED, OCCUPIED, OccupancyGrid
from mem3d.types import Candidate
from planners.goals import StandoffConfig
from ros_bridge.plan import plan_to_candidate

CELL = 0.05


def room() -> OccupancyGrid:
    """A 4 m x 3 m free floor from (1, 1) m, with a wall at x = 3 m from the bottom up to y = 3 m
    (inflated around it), and a box object at (4.2, 2.0) m."""
    codes = np.full((60, 80), FREE, np.int8)  # rows = y from 1 m, cols = x from 1 m
    codes[:40, 38:42] = OCCUPIED
    codes[:44, 35:45][codes[:44, 35:45] != OCCUPIED] = INFLATED
    codes[16:24, 62:70] = OCCUPIED  # the object's own footprint, 0.4 m wide
    return OccupancyGrid(codes, np.zeros(codes.shape), col0=20, row0=20, cell_m=CELL, seq=3, stamp=1.0)


OBJECT = Candidate((4.2, 2.0, 0.3), (4.1, 1.8, 0.0), (4.5, 2.2, 0.6), 0.9, 50, 0.0, 1.0, 0)


def cells_of(grid: OccupancyGrid, points: np.ndarray) -> np.ndarray:
    return grid.codes[np.floor(points[:, 1] / CELL).astype(int) - grid.row0,
                      np.floor(points[:, 0] / CELL).astype(int) - grid.col0]


def test_the_path_goes_round_the_wall_to_a_standoff_from_the_object():
    grid = room()
    start = np.array([1.5, 1.5])
    planned = plan_to_candidate(grid, start, OBJECT)
    assert planned.found and planned.reason == ""
    points = planned.points_xy
    np.testing.assert_allclose(points[0], start)
    lo, hi = np.array(OBJECT.bbox_min[:2]), np.array(OBJECT.bbox_max[:2])
    gap = np.maximum(np.maximum(lo - points[-1], points[-1] - hi), 0)
    assert StandoffConfig().min_m <= np.hypot(*gap) <= StandoffConfig().max_m + 1e-9
    legs = np.concatenate([np.linspace(a, b, 40) for a, b in zip(points[:-1], points[1:])])
    assert not (cells_of(grid, legs) == OCCUPIED).any()
    assert legs[:, 1].max() > 3.0  # the wall ends at y = 3 m: the path goes over its end
    assert planned.cost > np.hypot(*(points[-1] - start))


def test_no_path_says_why():
    grid = room()
    assert plan_to_candidate(grid, np.array([-5.0, 0.0]), OBJECT).reason.startswith("the robot at (-5.00, 0.00)")
    codes = grid.codes.copy()
    codes[:, 38:42] = OCCUPIED  # the wall spans the room, and walls close its far part all round
    codes[[0, -1], 38:] = OCCUPIED
    codes[:, -1] = OCCUPIED
    closed = OccupancyGrid(codes, grid.last_seen, grid.col0, grid.row0, CELL, grid.seq, grid.stamp)
    blocked = plan_to_candidate(closed, np.array([1.5, 1.5]), OBJECT)
    assert not blocked.found and blocked.reason == "no free route to the object on the memory's grid"
    assert blocked.points_xy.shape == (0, 2)
    empty = OccupancyGrid(np.zeros((0, 0), np.int8), np.zeros((0, 0)), 0, 0, CELL, 0, float("-inf"))
    assert "no traversability grid yet" in plan_to_candidate(empty, np.zeros(2), OBJECT).reason
