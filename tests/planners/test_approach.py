"""Reaching a candidate: where the robot may stop for it (near the box, with it in view), and when the
memory's newer answer is the same object whose box grew."""

from __future__ import annotations

import numpy as np

from mem3d.nav.traversability import FREE, OCCUPIED, UNKNOWN, OccupancyGrid
from mem3d.types import Candidate
from planners.approach import grew, may_stop_at, same_object, standing_extent, standoff_mask, step_in
from planners.goals import StandoffConfig, box_distance
from planners.grid import PlanningGrid


def grid_of(codes: np.ndarray) -> PlanningGrid:
    grid = PlanningGrid(0.05)
    grid.merge(OccupancyGrid(codes.astype(np.int8), np.zeros(codes.shape), 0, 0, 0.05, 1, 0.0))
    return grid


def box(lo, hi) -> Candidate:
    centroid = tuple((a + b) / 2 for a, b in zip(lo, hi))
    return Candidate(centroid=centroid, bbox_min=lo, bbox_max=hi, score=0.9, n_voxels=20, first_seen=0.0,
                     last_seen=0.0, obs_id=0)


def room_with_a_wall() -> PlanningGrid:
    codes = np.full((80, 80), FREE)
    codes[:, 40] = OCCUPIED  # a wall along x = 2.0 m
    codes[38:42, 20:24] = OCCUPIED  # a cabinet at x 1.0-1.2, y 1.9-2.1
    return grid_of(codes)


def test_the_robot_may_stop_near_the_box_with_it_in_view_and_nowhere_else():
    grid, config = room_with_a_wall(), StandoffConfig()
    cabinet = box((1.0, 1.9, 0.0), (1.2, 2.1, 0.8))
    assert may_stop_at(grid, cabinet, np.array([0.52, 2.02]), config)  # 0.48 m in front of it
    assert not may_stop_at(grid, cabinet, np.array([1.12, 2.02]), config)  # inside it
    assert not may_stop_at(grid, cabinet, np.array([0.02, 2.02]), config)  # 0.975 m: too far
    assert not may_stop_at(grid, cabinet, np.array([2.42, 2.02]), config)  # behind the wall: out of view
    mask = standoff_mask(grid, cabinet, config)
    rows, cols = np.nonzero(mask)
    distances = box_distance(grid.center(rows, cols), cabinet.bbox_min, cabinet.bbox_max)
    assert mask.any() and distances.min() >= config.min_m and distances.max() <= config.max_m
    assert (grid.center(rows, cols)[:, 0] < 2.0).all()  # none on the far side of the wall


def test_a_grown_box_brings_the_stop_nearer():
    """From afar the robot saw a sliver of the cabinet's near face; closer, all of it. Where it stands
    is no standoff of the sliver yet but is one of the whole cabinet."""
    grid, config = room_with_a_wall(), StandoffConfig()
    sliver = box((1.15, 1.95, 0.3), (1.2, 2.0, 0.5))
    whole = box((1.0, 1.9, 0.0), (1.2, 2.1, 0.8))
    here = np.array([0.17, 2.02])
    assert not may_stop_at(grid, sliver, here, config) and may_stop_at(grid, whole, here, config)
    assert grew(sliver, whole, 0.1) and not grew(whole, sliver, 0.0) and not grew(whole, whole, 0.0)
    assert same_object(sliver, whole, 0.6)
    assert not same_object(sliver, box((3.0, 3.0, 0.0), (3.2, 3.2, 0.8)), 0.6)


def test_the_standing_extent_drops_floor_the_label_bled_onto():
    grid = room_with_a_wall()  # the cabinet's cells: x 1.0-1.2, y 1.9-2.1
    bled = box((0.8, 1.8, 0.0), (1.2, 2.3, 0.8))  # its label also on the floor in front and beside it
    tight = standing_extent(grid, bled)
    assert np.allclose(tight.bbox_min[:2], (1.0, 1.9)) and np.allclose(tight.bbox_max[:2], (1.2, 2.1))
    assert tight.bbox_min[2] == 0.0 and tight.bbox_max[2] == 0.8 and tight.centroid == bled.centroid
    rug = box((0.2, 0.2, 0.0), (0.6, 0.6, 0.02))  # nothing inside it stands in the obstacle band
    assert standing_extent(grid, rug) == rug
    here = np.array([0.12, 2.02])  # 0.68 m from the floor it bled onto, 0.88 m from the cabinet
    assert may_stop_at(grid, bled, here, StandoffConfig())
    assert not may_stop_at(grid, bled, np.array([0.02, 2.02]), StandoffConfig())


def test_a_robot_that_just_saw_the_object_steps_straight_in_to_the_nearest_standoff():
    """The floor in front of the robot is not seen yet (below the camera's view): the step in crosses
    it along the sight line and stops at the first standoff; a chair on that line rules it out."""
    codes = np.full((80, 80), FREE)
    codes[:30, :] = UNKNOWN  # y < 1.5 m: unseen floor round the robot
    codes[36:47, 30:50] = OCCUPIED  # a coffee table, x 1.5-2.5 m, y 1.8-2.35 m
    grid, config = grid_of(codes), StandoffConfig()
    mug = box((1.95, 2.25, 0.45), (2.05, 2.35, 0.55))
    here = np.array([2.02, 0.52])
    line = step_in(grid, mug, here, config)
    rows, cols = np.nonzero(line)
    centers = grid.center(rows, cols)
    distances = box_distance(centers, mug.bbox_min, mug.bbox_max)
    assert line.any() and distances.max() <= config.max_m and distances.max() > config.max_m - 0.1
    assert np.abs(centers[:, 0] - 2.0).max() < 0.1  # on the line towards the mug
    codes[24:30, 36:44] = OCCUPIED  # a chair on the way, y 1.2-1.5 m
    assert not step_in(grid_of(codes), mug, here, config).any()
