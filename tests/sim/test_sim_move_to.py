"""The straight-segment ``MOVE_TO`` action: honest motion checked against the scene's geometry."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mem3d.errors import InvalidInputError
from mem3d.source import Action, ActionKind
from sim.agent import AgentState
from sim.render import Renderer
from tests.sim.test_sim_navigation import wall_between


def free_segment(grid, rng, length: float) -> tuple[np.ndarray, np.ndarray]:
    """A start and an end ``length`` m apart whose straight segment stays navigable."""
    while True:
        start = grid.random_point(rng)
        angle = rng.uniform(-np.pi, np.pi)
        end = start + length * np.array([np.cos(angle), np.sin(angle)])
        if grid.segment_free(start, end):
            return start, end


def test_move_to_drives_the_segment_and_reports_the_distance(source, rng):
    grid = source.navigation.grid
    start, end = free_segment(grid, rng, 1.3)
    source.set_state(AgentState(float(start[0]), float(start[1]), 0.0))
    result = source.act(Action(ActionKind.MOVE_TO, (float(end[0]), float(end[1]), 1.0)))
    assert result.success and result.travelled_m == pytest.approx(1.3)
    np.testing.assert_allclose(source.state.xy, end)
    assert source.state.yaw == pytest.approx(1.0)
    turn = source.act(Action(ActionKind.MOVE_TO, (float(end[0]), float(end[1]), -2.0)))  # turn in place
    assert turn.success and turn.travelled_m == 0.0 and source.state.yaw == pytest.approx(-2.0)
    step = source.act(Action(ActionKind.MOVE_FORWARD))
    assert step.travelled_m == pytest.approx(source.config.agent.forward_step_m) or not step.success


def test_move_to_through_a_wall_stops_where_it_is_blocked(source):
    renderer = Renderer(source.scene)
    grid = source.navigation.grid
    rng = np.random.default_rng(5)
    blocked = 0
    for _ in range(40):
        before = source.state.xy
        target = grid.random_point(rng)
        wanted = float(np.linalg.norm(target - before))
        result = source.act(Action(ActionKind.MOVE_TO, (float(target[0]), float(target[1]), 0.0)))
        after = source.state.xy
        assert result.travelled_m == pytest.approx(float(np.linalg.norm(after - before)), abs=1e-9)
        assert grid.is_navigable(after) and not wall_between(renderer, before, after)
        if not result.success:
            blocked += 1
            assert "blocked" in result.message and result.travelled_m < wanted
            heading = np.array([np.cos(source.state.yaw), np.sin(source.state.yaw)])
            assert result.travelled_m < 1e-9 or np.dot(heading, (after - before) / result.travelled_m) > 0.999
        else:
            np.testing.assert_allclose(after, target)
    assert blocked > 10  # most random pairs in an apartment are not in line of sight


def test_move_to_checks_its_target(source):
    before = source.state
    with pytest.raises(InvalidInputError, match="MOVE_TO needs a target"):
        Action(ActionKind.MOVE_TO)
    with pytest.raises(InvalidInputError, match="three numbers"):
        source.act(Action(ActionKind.MOVE_TO, (1.0, 2.0)))
    with pytest.raises(InvalidInputError, match="takes no target"):
        Action(ActionKind.TURN_LEFT, (1.0, 2.0, 0.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow on the way
        for target in [(np.nan, 0.0, 0.0), (np.inf, 1.0, 0.0)]:
            assert not source.act(Action(ActionKind.MOVE_TO, target)).success and source.state == before
        far = source.act(Action(ActionKind.MOVE_TO, (1e308, -1e308, 0.0)))
    assert not far.success and source.navigation.grid.is_navigable(source.state.xy)
