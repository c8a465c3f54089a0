"""The camera geometry: projection inverts unprojection, poses follow the optical and world conventions."""

from __future__ import annotations

import numpy as np
import pytest

from mem3d.errors import InvalidInputError
from mem3d.geometry import (
    image_pixels,
    look_at,
    look_heading,
    pixel_of_flat_index,
    project,
    transform_points,
    unproject,
    world_rays,
)
from mem3d.types import CameraIntrinsics

CAMERA = CameraIntrinsics(520.0, 515.0, 318.2, 243.7, 640, 480)


def test_project_inverts_unproject_at_every_pixel():
    u, v = image_pixels(CAMERA)
    z = np.random.default_rng(0).uniform(0.3, 9.0, u.shape)
    points = unproject(CAMERA, u, v, z)
    np.testing.assert_allclose(points[..., 2], z)
    pu, pv = project(CAMERA, points[..., 0], points[..., 1], points[..., 2])
    np.testing.assert_allclose(pu, u, atol=1e-9)
    np.testing.assert_allclose(pv, v, atol=1e-9)


def test_the_principal_point_looks_along_the_optical_axis():
    T_world_camera = look_at((1.0, 2.0, 1.0), (4.0, 6.0, 1.0))
    origin, rays = world_rays(CAMERA, T_world_camera, np.array([CAMERA.cx]), np.array([CAMERA.cy]))
    np.testing.assert_allclose(origin, [1.0, 2.0, 1.0])
    np.testing.assert_allclose(rays[0], [0.6, 0.8, 0.0], atol=1e-12)


def test_transform_points_keeps_float32_rotation_and_moves_by_the_translation():
    T_a_b = look_heading((0.5, -1.0, 2.0), 0.3, -0.2)
    points = np.random.default_rng(1).standard_normal((100, 3)).astype(np.float32)
    moved = transform_points(T_a_b, points)
    expected = points.astype(np.float64) @ T_a_b[:3, :3].T + T_a_b[:3, 3]
    np.testing.assert_allclose(moved, expected, atol=1e-5)
    back = transform_points(np.linalg.inv(T_a_b), moved)
    np.testing.assert_allclose(back, points, atol=1e-5)


@pytest.mark.parametrize("yaw,pitch", [(0.0, 0.0), (1.2, 0.4), (-2.5, -0.7)])
def test_a_heading_camera_is_the_look_at_camera_of_its_optical_axis(yaw, pitch):
    eye = np.array([1.0, -2.0, 1.3])
    heading = look_heading(eye, yaw, pitch)
    forward = np.array([np.cos(yaw) * np.cos(pitch), np.sin(yaw) * np.cos(pitch), np.sin(pitch)])
    np.testing.assert_allclose(heading, look_at(eye, eye + forward), atol=1e-12)
    assert np.isclose(np.linalg.det(heading[:3, :3]), 1.0)
    assert abs(heading[2, 0]) < 1e-12  # image rows stay level: the x axis is horizontal
    assert heading[2, 1] < 0  # image down points down in the world


def test_looking_straight_down_is_refused():
    with pytest.raises(InvalidInputError, match="straight up or down"):
        look_at((0.0, 0.0, 2.0), (0.0, 0.0, 0.0))


def test_flat_indices_are_row_major():
    u, v = pixel_of_flat_index(np.array([0, 4, 5, 14]), 5)
    assert u.tolist() == [0, 4, 0, 4] and v.tolist() == [0, 0, 1, 2]
