"""An exploration trip's early ends (goal found, blocked motion) and its looks on the way, and the
unseen-area gain of frontier targets."""

import numpy as np

from mem3d.nav.traversability import FREE, OCCUPIED, UNKNOWN, OccupancyGrid
from planners.exploration import ExplorationConfig, Trip
from planners.frontier import FrontierConfig, FrontierMap
from planners.grid import PlanningGrid


class _Robot:
    def __init__(self) -> None:
        self.travelled, self.blocked, self.looks, self.goal_seen = 0.0, 0, 0, False

    def trip(self, config: ExplorationConfig) -> Trip:
        return Trip(config, lambda: self.goal_seen, self.look, lambda: self.travelled, lambda: self.blocked)

    def look(self) -> None:
        self.looks += 1


def test_a_trip_looks_around_every_so_many_metres_and_ends_when_the_goal_turns_up():
    robot = _Robot()
    robot.travelled, robot.blocked = 5.0, 3  # totals from earlier trips do not count
    trip = robot.trip(ExplorationConfig(look_every_m=2.0, max_blocked=2))
    for _ in range(7):  # seven 0.5 m moves: looks after 2.0 and 4.0 m (totals 7.0 and 9.0)
        robot.travelled += 0.5
        assert not trip.step()
    assert robot.looks == 1 + (robot.travelled - 5.0 >= 4.0)
    robot.goal_seen = True
    assert trip.step() and not trip.gave_up


def test_a_trip_is_given_up_after_blocked_moves_only_when_configured():
    robot = _Robot()
    trip = robot.trip(ExplorationConfig(max_blocked=2))
    robot.blocked += 1
    assert not trip.step()
    robot.blocked += 1
    assert trip.step() and trip.gave_up
    never = robot.trip(ExplorationConfig(max_blocked=0))
    robot.blocked += 10
    assert not never.step() and not never.gave_up


def _grid(codes: np.ndarray) -> PlanningGrid:
    grid = PlanningGrid()
    grid.merge(OccupancyGrid(codes, np.zeros(codes.shape), 0, 0, 0.05, 1, 0.0))
    return grid


def test_with_a_gain_radius_the_frontier_into_a_large_unseen_area_is_worth_more():
    codes = np.full((80, 120), OCCUPIED, np.int8)
    codes[1:79, 1:60] = FREE  # the seen room
    codes[1:79, 60:119] = UNKNOWN  # a large unseen room behind column 60 ...
    codes[1:79, 60] = OCCUPIED
    codes[30:50, 60] = UNKNOWN  # ... through a 1 m doorway
    codes[5:15, 1:4] = UNKNOWN  # and a small unseen pocket at the left wall (a sliver behind a chair)
    grid = _grid(codes)
    frontier = FrontierMap(FrontierConfig(gain_radius_m=1.0))
    frontier.update(grid, None)
    targets = sorted(frontier.targets(grid, now=0.0), key=lambda t: t.xy[0])
    assert len(targets) == 2
    pocket, door = targets
    assert door.gain > 2 * pocket.gain
    by_size = FrontierMap(FrontierConfig())
    by_size.update(grid, None)
    assert sorted(t.gain for t in by_size.targets(grid, now=0.0)) != sorted(t.gain for t in targets)


def test_with_a_turn_back_cost_the_target_ahead_beats_an_equally_near_one_behind():
    from planners.frontier import Target

    distance = np.full((10, 10), np.inf)
    distance[5, 1] = distance[5, 9] = 2.0
    distance[5, 8] = 2.5  # a little farther, but ahead
    behind, ahead = Target((5, 1), (0.0, 0.0), 10.0, "frontier"), Target((5, 8), (4.0, 0.0), 10.0, "frontier")
    pose = (np.array([2.0, 0.0]), 0.0)  # at x = 2 m facing +x
    plain = FrontierMap(FrontierConfig())
    assert plain.choose([behind, ahead], distance, pose) is behind  # nearest first
    committed = FrontierMap(FrontierConfig(turn_back_m=2.0))
    assert committed.choose([behind, ahead], distance, pose) is ahead
    assert committed.choose([behind, ahead], distance, (pose[0], np.pi)) is behind  # now facing it
    assert committed.choose([Target((0, 0), (0.0, 0.0), 10.0, "frontier")], distance, pose) is None  # unreachable
