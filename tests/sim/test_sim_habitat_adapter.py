"""Habitat frame and intrinsics conversions (pure numpy), and the adapter where habitat_sim exists."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from mem3d.errors import InvalidInputError, NotAvailableError
from mem3d.source import Action, ActionKind, Source
from mem3d.types import CameraIntrinsics
from sim.agent import AgentState, camera_pose
from sim.habitat_adapter import (
    HabitatSource,
    T_world_camera_to_habitat_sensor,
    convert_observation,
    habitat_intrinsics,
    habitat_point_to_world,
    habitat_rotation_to_yaw,
    habitat_sensor_to_T_world_camera,
    hfov_of,
    matrix_to_quaternion,
    quaternion_to_matrix,
    world_point_to_habitat,
    yaw_to_habitat_rotation,
)

HABITAT_REASON = "habitat_sim is not installable here (no wheel for this platform); install with conda"


def quat_mul(a, b):
    w1, x1, y1, z1 = a
    w2, x2, y2, z2 = b
    return np.array([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2])


def habitat_sensor_rotation(yaw: float, tilt: float) -> np.ndarray:
    """Agent yaw about Habitat +y, then the sensor pitched about its +x (positive = look up)."""
    return quat_mul(yaw_to_habitat_rotation(yaw), np.array([np.cos(tilt / 2), np.sin(tilt / 2), 0.0, 0.0]))


def test_world_axes_map_y_up_minus_z_forward_to_z_up_x_forward():
    np.testing.assert_allclose(habitat_point_to_world([0, 1, 0]), [0, 0, 1])  # up
    np.testing.assert_allclose(habitat_point_to_world([0, 0, -1]), [1, 0, 0])  # forward
    np.testing.assert_allclose(habitat_point_to_world([1, 0, 0]), [0, -1, 0])  # right
    p = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(world_point_to_habitat(habitat_point_to_world(p)), p)


def test_identity_sensor_looks_forward_with_image_y_down():
    pose = habitat_sensor_to_T_world_camera([1.0, 1.5, -2.0], [1, 0, 0, 0])
    np.testing.assert_allclose(pose[:3, 3], [2.0, -1.0, 1.5])
    np.testing.assert_allclose(pose[:3, 2], [1, 0, 0], atol=1e-12)  # optical axis = Habitat -z = our +x
    np.testing.assert_allclose(pose[:3, 1], [0, 0, -1], atol=1e-12)  # image down = world down
    np.testing.assert_allclose(pose[:3, 0], [0, -1, 0], atol=1e-12)  # image right = Habitat +x = our -y


@pytest.mark.parametrize("yaw, tilt", [(0.0, 0.0), (0.7, 0.0), (-2.5, 0.3), (3.0, -0.8)])
def test_habitat_yaw_and_pitch_give_the_embedded_camera_pose(yaw, tilt):
    position_h = world_point_to_habitat([1.0, -2.0, 1.2])
    pose = habitat_sensor_to_T_world_camera(position_h, habitat_sensor_rotation(yaw, tilt))
    np.testing.assert_allclose(pose, camera_pose(AgentState(1.0, -2.0, yaw, tilt), 1.2), atol=1e-12)
    assert habitat_rotation_to_yaw(yaw_to_habitat_rotation(yaw)) == pytest.approx(yaw)
    position, rotation = T_world_camera_to_habitat_sensor(pose)
    np.testing.assert_allclose(position, position_h, atol=1e-12)
    np.testing.assert_allclose(quaternion_to_matrix(rotation), quaternion_to_matrix(habitat_sensor_rotation(yaw, tilt)),
                               atol=1e-12)


def test_quaternion_round_trip():
    rng = np.random.default_rng(1)
    for _ in range(50):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        q = q if q[0] >= 0 else -q
        np.testing.assert_allclose(matrix_to_quaternion(quaternion_to_matrix(q)), q, atol=1e-9)


def test_habitat_intrinsics_project_like_its_opengl_camera():
    width, height, hfov = 160, 120, 79.0
    K = habitat_intrinsics(width, height, hfov)
    assert hfov_of(K) == pytest.approx(hfov)
    rng = np.random.default_rng(2)
    tan_h = np.tan(np.deg2rad(hfov) / 2)
    tan_v = tan_h * height / width
    for _ in range(20):
        p = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1), -rng.uniform(1, 5)])  # Habitat sensor frame
        x_ndc, y_ndc = p[0] / -p[2] / tan_h, p[1] / -p[2] / tan_v
        col, row = (x_ndc + 1) / 2 * width - 0.5, (1 - y_ndc) / 2 * height - 0.5  # pixel centres at integers
        q = np.diag([1.0, -1.0, -1.0]) @ p  # OpenCV optical frame
        u, v = K.fx * q[0] / q[2] + K.cx, K.fy * q[1] / q[2] + K.cy
        assert (u, v) == (pytest.approx(col), pytest.approx(row))
    with pytest.raises(InvalidInputError, match="square pixels"):
        hfov_of(CameraIntrinsics(100, 90, 79.5, 59.5, 160, 120))


def test_convert_observation_from_raw_sensor_outputs():
    K = habitat_intrinsics(4, 3, 90.0)
    raw = {"rgb": np.full((3, 4, 4), 200, np.uint8), "depth": np.array([[1, 2, 0, np.nan]] * 3, np.float32),
           "semantic": np.array([[0, 1, 2, 9]] * 3, np.uint32)}
    table = np.array([0, 5, 5], np.int32)  # object ids 1 and 2 are both category 5
    obs = convert_observation(raw, K, np.eye(4), 0.5, 7, table, {5: "chair"}).validate()
    assert obs.rgb.shape == (3, 4, 3) and (obs.depth[:, 2:] == 0).all() and obs.depth[0, 1] == 2.0
    assert obs.instance[0].tolist() == [0, 1, 2, 9] and obs.semantic[0].tolist() == [0, 5, 5, 0]
    assert obs.labels == {5: "chair"}


@pytest.mark.skipif(importlib.util.find_spec("habitat_sim") is not None, reason="habitat_sim is installed here")
def test_without_habitat_sim_the_source_says_how_to_install_it():
    with pytest.raises(NotAvailableError, match="conda install habitat-sim"):
        HabitatSource("any.glb")


@pytest.mark.habitat
def test_habitat_source_with_the_real_simulator(tmp_path):
    habitat_sim = pytest.importorskip("habitat_sim", reason=HABITAT_REASON)
    from sim_test_helpers import write_glb

    # a floor plane and a wall, y up: enough for a navmesh and all three sensors
    floor = np.array([[-3, 0, -3], [3, 0, -3], [3, 0, 3], [-3, 0, 3]], float)
    wall = np.array([[-3, 0, -3], [3, 0, -3], [3, 2.5, -3], [-3, 2.5, -3]], float)
    write_glb(tmp_path / "room.glb", np.vstack([floor, wall]), [[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7]],
              np.full((8, 3), 0.7))
    source = HabitatSource(str(tmp_path / "room.glb"), semantic=False)
    try:
        assert isinstance(source, Source) and habitat_sim is not None
        obs = source.reset(0).validate()
        assert (obs.depth > 0).any()
        assert source.act(Action(ActionKind.TURN_LEFT)).success
        assert source.observe().obs_id == obs.obs_id + 1
    finally:
        source.close()
