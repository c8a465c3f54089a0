"""The navigator's small decisions: standoffs over a support, and revisit targets (old views only, no
frontiers)."""

from __future__ import annotations

import numpy as np

from mem3d.nav.traversability import FREE, OCCUPIED, UNKNOWN, OccupancyGrid
from mem3d.types import Candidate
from planners.frontier import FrontierMap
from planners.goals import box_distance, standoff_cells
from planners.grid import PlanningGrid


def grid_of(codes: np.ndarray, stamps: np.ndarray | None = None) -> PlanningGrid:
    grid = PlanningGrid(0.05)
    stamps = np.zeros(codes.shape) if stamps is None else stamps
    grid.merge(OccupancyGrid(codes.astype(np.int8), stamps, 0, 0, 0.05, 1, 0.0))
    return grid


def test_a_standoff_over_the_table_an_object_stands_on():
    """A mug in the middle of a 1.6 m table: no free cell has a floor-plane sight line past the
    table, so the navigator asks for standoffs without one (the camera looks down over the table)."""
    codes = np.full((80, 80), FREE)
    codes[24:56, 24:56] = OCCUPIED  # the table, 1.6 m square
    grid = grid_of(codes)
    mug = Candidate(centroid=(2.0, 2.0, 0.8), bbox_min=(1.95, 1.95, 0.75), bbox_max=(2.05, 2.05, 0.85),
                    score=0.9, n_voxels=8, first_seen=0.0, last_seen=0.0, obs_id=0)
    assert not standoff_cells(grid, mug).any()
    loose = standoff_cells(grid, mug, need_view=False)
    assert loose.any() and not (loose & (grid.codes == OCCUPIED)).any()


def mug_at(x: float, y: float, bottom: float = 0.45) -> Candidate:
    return Candidate(centroid=(x, y, bottom + 0.05), bbox_min=(x - 0.05, y - 0.05, bottom),
                     bbox_max=(x + 0.05, y + 0.05, bottom + 0.1), score=0.9, n_voxels=8, first_seen=0.0,
                     last_seen=0.0, obs_id=0)


def test_a_camera_above_the_coffee_table_sees_a_mug_on_it_from_the_near_side():
    """A mug at the far edge of a coffee table (x 1.5-2.5 m, y 1.8-2.35 m): in the floor plane only the
    far side sees it; a camera 1.2 m up looks over the table, so the near side counts too."""
    codes = np.full((80, 80), FREE)
    codes[36:47, 30:50] = OCCUPIED  # the table, 1.0 m x 0.55 m
    grid = grid_of(codes)
    mug = mug_at(2.0, 2.3)
    near_side = grid.cell(np.array([2.0, 1.45]))  # 0.8 m from the mug's box
    assert not standoff_cells(grid, mug)[near_side]
    seen_over = standoff_cells(grid, mug, camera_z=1.2)
    assert seen_over[near_side] and not (seen_over & (grid.codes == OCCUPIED)).any()
    assert (seen_over >= standoff_cells(grid, mug)).all()  # what the floor plane saw still counts
    assert not standoff_cells(grid, mug, camera_z=0.4)[near_side]  # a camera below the table top: no
    assert not standoff_cells(grid, mug_at(2.0, 2.3, bottom=0.0), camera_z=1.2)[near_side]  # on the floor:
    # what stands in front of it may be taller than the camera's line


def test_a_support_joined_to_a_wall_still_hides_what_is_behind_the_wall():
    """A counter against a wall (the wall x = 2.0 m runs on): from the other side of the wall the mug
    on the counter is out of view whatever the camera height."""
    codes = np.full((120, 120), FREE)
    codes[:, 40:42] = OCCUPIED  # the wall
    codes[50:70, 30:40] = OCCUPIED  # the counter, 0.5 m deep, against it
    grid = grid_of(codes)
    mug = mug_at(1.9, 3.0, bottom=0.9)
    behind = grid.cell(np.array([2.5, 3.0]))  # 0.55 m from the mug, through the wall
    assert not standoff_cells(grid, mug, camera_z=1.2)[behind]
    assert not standoff_cells(grid, mug, camera_z=1.2)[:, 42:].any()


def test_revisit_targets_look_at_things_seen_long_ago_not_at_frontiers():
    codes = np.full((80, 80), FREE)
    codes[:, 60:] = UNKNOWN  # a frontier at column 60
    codes[10:14, 10:14] = OCCUPIED  # a table seen long ago, at (0.6 m, 0.6 m)
    codes[60:64, 40:44] = OCCUPIED  # a chair seen just now, at (2.1 m, 3.1 m)
    stamps = np.zeros(codes.shape)
    stamps[10:14, 10:14] = -100.0
    grid = grid_of(codes, stamps)
    frontier = FrontierMap()
    frontier.update(grid, None)
    assert {t.kind for t in frontier.targets(grid, now=10.0)} == {"frontier"}
    revisit = frontier.targets(grid, now=10.0, revisit=True)
    assert revisit and {t.kind for t in revisit} == {"stale"}
    view = frontier.config.revisit_view_m
    for target in revisit:  # looking at the old table from about revisit_view_m (the fresh chair is no reason)
        to_table = float(box_distance(np.asarray(target.xy), (0.5, 0.5), (0.7, 0.7)))
        assert 0.5 * view <= to_table <= 1.5 * view
    biggest = max(revisit, key=lambda t: t.gain)
    assert abs(float(box_distance(np.asarray(biggest.xy), (0.5, 0.5), (0.7, 0.7))) - view) < 0.1


def test_a_revisited_stale_target_rules_out_its_surroundings():
    codes = np.full((100, 100), FREE)
    codes[45:55, :] = OCCUPIED  # a long sideboard seen long ago
    grid = grid_of(codes, np.full(codes.shape, -100.0))
    frontier = FrontierMap()
    frontier.update(grid, None)
    first = frontier.targets(grid, now=10.0, revisit=True)
    assert len(first) == 2  # one on each side
    frontier.forbid(first[0].xy, frontier.config.revisited_radius_m)
    for target in frontier.targets(grid, now=10.0, revisit=True):
        assert np.hypot(*(np.asarray(target.xy) - first[0].xy)) >= frontier.config.revisited_radius_m


def walled(codes: np.ndarray) -> np.ndarray:
    """The room's outline as walls (the unknown margin outside the copy makes no frontier)."""
    codes[0, :] = codes[-1, :] = codes[:, 0] = codes[:, -1] = OCCUPIED
    return codes


def test_a_frontier_seen_on_the_way_is_resolved_and_blacklist_remnants_are_no_targets():
    codes = np.full((80, 80), FREE)
    codes[:, 60:] = UNKNOWN  # a frontier along column 59 (x = 2.975 m)
    grid = grid_of(walled(codes))
    frontier = FrontierMap()
    frontier.update(grid, None)
    (target,) = frontier.targets(grid, now=0.0)
    assert abs(target.xy[0] - 2.975) < 1e-9 and not frontier.resolved(grid, target.xy, 0.5)
    assert frontier.resolved(grid, (1.0, 2.0), 0.5)  # nothing unseen near the middle of the room
    seen = walled(np.full((80, 80), FREE, np.int8))[:, 50:]
    frontier.update(grid, grid.merge(OccupancyGrid(seen, np.ones(seen.shape), 50, 0, 0.05, 2, 1.0)))
    assert frontier.resolved(grid, target.xy, 0.5)  # the view on the way saw past it
    assert "frontier" not in {t.kind for t in frontier.targets(grid, now=1.0)}
    small = np.full((40, 40), FREE)
    small[:, 30:] = UNKNOWN  # a 38-cell frontier along column 29, rows 1-38
    grid = grid_of(walled(small))
    frontier = FrontierMap()
    frontier.update(grid, None)
    assert len(frontier.targets(grid, now=0.0)) == 1
    frontier.forbid((1.475, 1.0), 0.85)  # leaves rows 1-2 and 37-38 outside the blacklist: 4 cells
    assert frontier.targets(grid, now=0.0) == []
