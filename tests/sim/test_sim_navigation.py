"""Agent actions, collisions with walls, and geodesic distances."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mem3d.errors import InvalidInputError
from mem3d.source import Action, ActionKind
from sim.agent import AgentState, camera_pose, wrap_angle
from sim.config import AgentConfig
from sim.render import Renderer
from sim.scene import ObjectKind


def wall_between(renderer: Renderer, a: np.ndarray, b: np.ndarray, height: float = 1.0) -> bool:
    """Whether a horizontal ray at ``height`` from a to b hits a wall before reaching b."""
    import open3d as o3d

    direction = np.append(b - a, 0.0)
    length = float(np.linalg.norm(direction))
    if length == 0:
        return False
    ray = np.array([[*a, height, *(direction / length)]], dtype=np.float32)
    tables = renderer._current()
    hits = tables.raycaster.cast_rays(o3d.core.Tensor(ray))
    tri = int(hits["primitive_ids"].numpy()[0])
    if tri >= tables.n_triangles:
        return False
    owner = renderer.scene.get(int(tables.instance[tri]))
    return owner.label == "wall" and float(hits["t_hit"].numpy()[0]) <= length


def test_forward_into_a_wall_stops_and_reports_failure(source):
    grid = source.navigation.grid
    xmin = min(r.min_xy[0] for r in source.scene.rooms)
    # stand on the westmost navigable cell of some row and face the exterior wall (-x)
    rows, cols = np.nonzero(grid.navigable)
    k = int(np.argmin(cols))
    start = grid.cell_center(rows[k], cols[k]) + [0.2, 0.0]
    source.set_state(AgentState(float(start[0]), float(start[1]), np.pi))
    results = [source.act(Action(ActionKind.MOVE_FORWARD)) for _ in range(10)]
    assert not results[-1].success and "blocked" in results[-1].message
    assert source.state.x > xmin + 0.05 + source.config.agent.radius_m - grid.cell
    assert grid.is_navigable(source.state.xy)


def test_random_walk_never_crosses_a_wall(source):
    renderer = Renderer(source.scene)
    rng = np.random.default_rng(7)
    kinds = [ActionKind.MOVE_FORWARD] * 6 + [ActionKind.TURN_LEFT, ActionKind.TURN_RIGHT]
    blocked = 0
    for _ in range(400):
        before = source.state.xy
        result = source.act(Action(kinds[int(rng.integers(len(kinds)))]))
        blocked += not result.success
        after = source.state.xy
        assert source.navigation.grid.is_navigable(after)
        assert not wall_between(renderer, before, after)
    assert blocked > 0  # the walk did run into things


def test_turns_and_looks_change_the_camera(source):
    state = source.state
    source.act(Action(ActionKind.TURN_LEFT))
    assert wrap_angle(source.state.yaw - state.yaw) == pytest.approx(np.deg2rad(15))
    source.act(Action(ActionKind.TURN_RIGHT))
    assert source.state.yaw == pytest.approx(state.yaw)
    for _ in range(4):
        assert source.act(Action(ActionKind.LOOK_UP)).success
    limited = source.act(Action(ActionKind.LOOK_UP))
    assert not limited.success and source.state.tilt == pytest.approx(np.deg2rad(60))
    T_world_camera = source.observe().T_world_camera
    assert T_world_camera[2, 2] == pytest.approx(np.sin(np.deg2rad(60)))  # optical axis points up
    assert T_world_camera[2, 3] == pytest.approx(source.config.camera.height_m)


def test_camera_pose_axes_follow_the_optical_convention():
    T_world_camera = camera_pose(AgentState(1.0, 2.0, np.pi / 2, 0.0), 1.5)
    np.testing.assert_allclose(T_world_camera[:3, 2], [0, 1, 0], atol=1e-12)  # forward = +y for yaw 90 deg
    np.testing.assert_allclose(T_world_camera[:3, 0], [1, 0, 0], atol=1e-12)  # right = +x
    np.testing.assert_allclose(T_world_camera[:3, 1], [0, 0, -1], atol=1e-12)  # image down = world down
    np.testing.assert_allclose(T_world_camera[:3, 3], [1, 2, 1.5])


def test_go_to_follows_a_path_and_refuses_walls(source, rng):
    grid = source.navigation.grid
    target = grid.random_point(np.random.default_rng(99))
    result = source.act(Action(ActionKind.GO_TO, (float(target[0]), float(target[1]), 0.5)))
    assert result.success and "travelled" in result.message
    np.testing.assert_allclose(source.state.xy, target)
    assert source.state.yaw == pytest.approx(0.5)
    wall = next(o for o in source.scene if o.label == "wall")
    inside = wall.world_bounds()[0][:2] + 0.05
    result = source.act(Action(ActionKind.GO_TO, (float(inside[0]), float(inside[1]), 0.0)))
    assert not result.success and "not navigable" in result.message
    np.testing.assert_allclose(source.state.xy, target)  # did not move
    with pytest.raises(InvalidInputError, match="navigable"):
        source.set_state(AgentState(float(inside[0]), float(inside[1]), 0.0))


@pytest.mark.parametrize("target", [(1.0, 2.0), ("a", "b", "c"), ("1", 2.0, 0.0), (1.0, 2.0, 0.0, 4.0), 5.0])
def test_go_to_with_a_malformed_target_is_a_clear_error(source, target):
    before = source.state
    with pytest.raises(InvalidInputError, match="three numbers"):
        source.act(Action(ActionKind.GO_TO, target))
    assert source.state.xy.tolist() == before.xy.tolist()


@pytest.mark.parametrize("target", [(np.nan, 0.0, 0.0), (1e308, -1e308, 0.0), (np.inf, 1.0, 0.0)])
def test_go_to_far_or_non_finite_targets_fail_without_moving(source, target):
    before = source.state
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow on the way
        result = source.act(Action(ActionKind.GO_TO, target))
    assert not result.success and source.state == before


def test_negative_max_tilt_is_refused():
    with pytest.raises(InvalidInputError, match="max_tilt_deg must be positive"):
        AgentConfig(max_tilt_deg=-30)


def test_geodesic_distance_is_at_least_euclidean_and_its_path_is_free(source):
    grid = source.navigation.grid
    rng = np.random.default_rng(5)
    longer = 0
    for _ in range(25):
        a, b = grid.random_point(rng), grid.random_point(rng)
        path = source.navigation.geodesic_path(a, b)
        euclid = float(np.linalg.norm(b - a))
        assert path.reachable and path.length_m >= euclid - 1e-9
        np.testing.assert_allclose(path.points[0], a)
        np.testing.assert_allclose(path.points[-1], b)
        assert all(grid.segment_free(p, q) for p, q in zip(path.points[:-1], path.points[1:]))
        assert path.length_m == pytest.approx(np.linalg.norm(np.diff(path.points, axis=0), axis=1).sum())
        longer += path.length_m > euclid + 0.05
    assert longer > 5  # walls and furniture force detours


def test_geodesic_between_rooms_goes_through_a_door(source):
    rooms = source.scene.rooms
    grid = source.navigation.grid

    def inside(room):
        rows, cols = np.nonzero(grid.navigable)
        centres = grid.cell_center(rows, cols)
        ok = [(room.min_xy[0] < x < room.max_xy[0]) and (room.min_xy[1] < y < room.max_xy[1]) for x, y in centres]
        return centres[np.nonzero(ok)[0][len(np.nonzero(ok)[0]) // 2]]

    a, b = inside(rooms[0]), inside(rooms[-1])
    assert source.navigation.geodesic_distance(a, b) > np.linalg.norm(b - a)
    assert not grid.segment_free(a, b)
    with pytest.raises(InvalidInputError, match="not on navigable"):
        wall = next(o for o in source.scene.of_kind(ObjectKind.STRUCTURE) if o.label == "wall")
        source.navigation.geodesic_distance(a, wall.world_bounds()[0][:2] + 0.05)
