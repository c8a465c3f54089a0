"""The navigator's small decisions: standoffs over a support, and revisit targets (old views only, no
frontiers)."""

from __future__ import annotations

import numpy as np

from mem3d.nav.traversability import FREE, OCCUPIED, UNKNOWN, OccupancyGrid
from mem3d.types import Candidate
from planners.frontier import FrontierMap
from planners.goals import standoff_cells
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


def test_revisit_targets_are_old_views_only():
    codes = np.full((60, 60), FREE)
    codes[:, 40:] = UNKNOWN  # a frontier at column 40
    stamps = np.zeros(codes.shape)
    stamps[:, :20] = -100.0  # the left third seen long ago
    grid = grid_of(codes, stamps)
    frontier = FrontierMap()
    frontier.update(grid, None)
    assert {t.kind for t in frontier.targets(grid, now=10.0)} == {"frontier"}
    revisit = frontier.targets(grid, now=10.0, revisit=True)
    assert revisit and {t.kind for t in revisit} == {"stale"}
    assert all(t.xy[0] < 1.0 for t in revisit)  # in the part seen long ago


def test_a_revisited_stale_target_rules_out_its_surroundings():
    codes = np.full((60, 60), FREE)
    grid = grid_of(codes, np.full(codes.shape, -100.0))  # all of it seen long ago
    frontier = FrontierMap()
    frontier.update(grid, None)
    first = frontier.targets(grid, now=10.0, revisit=True)
    assert len(first) == 1
    frontier.forbid(first[0].xy, frontier.config.revisited_radius_m)
    for target in frontier.targets(grid, now=10.0, revisit=True):
        assert np.hypot(*(np.asarray(target.xy) - first[0].xy)) >= frontier.config.revisited_radius_m
