"""Unprojection against analytic geometry, and the carving depth sent with each frame."""

from __future__ import annotations

import numpy as np
import pytest

from mem3d.geometry import look_at
from mem3d.types import CameraIntrinsics, Observation
from perception import FrameConfig, build_feature_frame
from perception.frames import sampled_points

NORMAL = np.array([0.2, -0.1, 1.0]) / np.linalg.norm([0.2, -0.1, 1.0])
OFFSET = float(NORMAL @ np.array([1.5, 0.3, 0.1]))  # the plane: NORMAL . x = OFFSET


def plane_observation(intrinsics: CameraIntrinsics, T_world_camera: np.ndarray) -> Observation:
    """Exact z-depth of the tilted plane, computed per pixel from the ray-plane intersection."""
    v, u = np.mgrid[0:intrinsics.height, 0:intrinsics.width]
    rays = np.stack([(u - intrinsics.cx) / intrinsics.fx, (v - intrinsics.cy) / intrinsics.fy,
                     np.ones(u.shape)], axis=-1) @ T_world_camera[:3, :3].T  # z = 1 in the camera: t = z-depth
    depth = (OFFSET - NORMAL @ T_world_camera[:3, 3]) / (rays @ NORMAL)
    assert (depth > 0.5).all() and (depth < 6.0).all()
    shape = (intrinsics.height, intrinsics.width)
    rgb = np.zeros((*shape, 3), dtype=np.uint8)
    rgb[..., 1] = 200
    return Observation(rgb=rgb, depth=depth.astype(np.float32), intrinsics=intrinsics, T_world_camera=T_world_camera,
                       stamp=4.5, obs_id=12, semantic=np.ones(shape, dtype=np.int32), labels={1: "floor"})


@pytest.fixture(scope="module")
def plane_obs() -> Observation:
    intrinsics = CameraIntrinsics(520.0, 515.0, 318.2, 243.7, 640, 480)
    return plane_observation(intrinsics, look_at((0.8, -0.6, 1.6), (1.6, 0.6, 0.0)))


def test_every_unprojected_pixel_lies_on_the_plane(plane_obs):
    every_pixel = np.arange(plane_obs.depth.size)
    points = sampled_points(every_pixel, plane_obs.depth, plane_obs.intrinsics, plane_obs.T_world_camera)
    assert points.dtype == np.float32
    assert np.abs(points.astype(np.float64) @ NORMAL - OFFSET).max() < 1e-3


def test_feature_frame_points_land_on_the_plane_within_a_millimetre(plane_obs, label_encoder):
    frame = build_feature_frame(plane_obs, label_encoder, FrameConfig(n_samples=5000))
    frame.validate(label_encoder.feature_dim)
    assert frame.n_points == 5000
    assert np.abs(frame.points.astype(np.float64) @ NORMAL - OFFSET).max() < 1e-3
    assert (frame.colors == (0, 200, 0)).all()
    assert frame.stamp == 4.5 and frame.obs_id == 12
    assert np.array_equal(frame.T_world_camera, plane_obs.T_world_camera)


def test_principal_point_maps_along_the_optical_axis():
    intrinsics = CameraIntrinsics(500.0, 500.0, 2.0, 1.0, 5, 3)
    T_world_camera = look_at((1.0, 2.0, 1.0), (4.0, 6.0, 1.0))
    depth = np.full((3, 5), 2.5, dtype=np.float32)
    point = sampled_points(np.array([1 * 5 + 2]), depth, intrinsics, T_world_camera)[0]
    assert np.allclose(point, np.array([1.0, 2.0, 1.0]) + 2.5 * np.array([0.6, 0.8, 0.0]), atol=1e-6)
    right = sampled_points(np.array([1 * 5 + 4]), depth, intrinsics, T_world_camera)[0]  # 2 px right of centre
    assert np.allclose(right - point, 2.5 * 2 / 500.0 * T_world_camera[:3, 0], atol=1e-6)


def test_carving_depth_is_the_block_minimum_with_matching_intrinsics(plane_obs, label_encoder):
    obs = plane_obs
    depth = obs.depth.copy()
    depth[100:140, 200] = 0.7          # a one-pixel-wide pole in front of the plane
    depth[0:4, 0:4] = np.nan           # a block without any measurement
    obs = Observation(obs.rgb, depth, obs.intrinsics, obs.T_world_camera, obs.stamp, obs.obs_id,
                      obs.semantic, labels=obs.labels)
    frame = build_feature_frame(obs, label_encoder, FrameConfig(carve_downsample=4))
    assert frame.depth.shape == (120, 160) and np.isfinite(frame.depth).all()
    assert frame.intrinsics == obs.intrinsics.scaled(0.25)
    assert frame.depth[0, 0] == 0.0
    assert np.all(frame.depth[25:35, 50] == pytest.approx(0.7))  # the pole survives pooling
    expected = np.nan_to_num(depth, nan=np.inf).reshape(120, 4, 160, 4).min(axis=(1, 3))
    expected[np.isinf(expected)] = 0.0
    assert np.array_equal(frame.depth, expected)
