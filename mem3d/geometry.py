"""Pinhole camera geometry: the one place for projection, unprojection, pixel rays and camera poses.

Conventions (as in ``mem3d.types``):
- World frame: z up, metres, right-handed (REP-103).
- Camera frame: OpenCV optical, x right, y down, z forward, metres.
- Pixels: ``u`` is the column and ``v`` the row; the centre of pixel (row v, column u) is at the
  integer coordinates (u, v).
- Depth is z-depth (metres along the optical axis), not the range along the ray.
- ``T_a_b`` is a 4x4 rigid transform mapping points expressed in frame b into frame a;
  ``T_world_camera`` is the camera pose.

Numpy only; every function works on whole arrays and adds no copy beyond its result.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mem3d.errors import InvalidInputError
from mem3d.types import CameraIntrinsics

Vector3 = Sequence[float] | np.ndarray


def transform_points(T_a_b: np.ndarray, points_b: np.ndarray) -> np.ndarray:
    """(N, 3) points of frame b expressed in frame a (metres).

    The rotation is applied in the points' dtype (float32 points are not widened for the product);
    the translation is float64, so the result is float64."""
    return points_b @ T_a_b[:3, :3].T.astype(points_b.dtype, copy=False) + T_a_b[:3, 3]


def rotate_vectors(T_a_b: np.ndarray, vectors_b: np.ndarray) -> np.ndarray:
    """(..., 3) directions of frame b expressed in frame a (rotation only)."""
    return vectors_b @ T_a_b[:3, :3].T


def image_pixels(intrinsics: CameraIntrinsics) -> tuple[np.ndarray, np.ndarray]:
    """(u, v): two (H, W) float64 arrays, the column and row of every pixel centre."""
    v, u = np.mgrid[0:intrinsics.height, 0:intrinsics.width]
    return u.astype(np.float64), v.astype(np.float64)


def pixel_rays(intrinsics: CameraIntrinsics, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(..., 3) float64 camera-frame ray directions through pixels (u, v), scaled to z = 1, so that a
    ray parameter is directly a z-depth in metres."""
    rays = np.empty((*np.shape(u), 3))
    rays[..., 0] = (u - intrinsics.cx) / intrinsics.fx
    rays[..., 1] = (v - intrinsics.cy) / intrinsics.fy
    rays[..., 2] = 1.0
    return rays


def world_rays(intrinsics: CameraIntrinsics, T_world_camera: np.ndarray, u: np.ndarray,
               v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The camera centre (3,) and the world-frame ray directions (..., 3) through pixels (u, v), float64,
    scaled so that a ray parameter is the z-depth in metres."""
    return T_world_camera[:3, 3].copy(), rotate_vectors(T_world_camera, pixel_rays(intrinsics, u, v))


def unproject(intrinsics: CameraIntrinsics, u: np.ndarray, v: np.ndarray, z: np.ndarray) -> np.ndarray:
    """(..., 3) float64 camera-frame points (metres) of pixels (u, v) seen at z-depth ``z`` (metres)."""
    return pixel_rays(intrinsics, u, v) * np.asarray(z, dtype=np.float64)[..., None]


def project(intrinsics: CameraIntrinsics, x: np.ndarray, y: np.ndarray,
            z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float pixel coordinates (u, v) of camera-frame coordinates (x, y, z) in metres.

    ``z`` must be non-zero: callers mask the points behind the camera themselves (and pass any
    positive z for them), which keeps this free of copies on hot paths."""
    return intrinsics.fx * x / z + intrinsics.cx, intrinsics.fy * y / z + intrinsics.cy


def pixel_of_flat_index(flat_index: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) of row-major flat pixel indices into an image ``width`` pixels wide."""
    v, u = np.divmod(flat_index, width)
    return u, v


def _optical_frame(eye: Vector3, forward: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``T_world_camera`` of a camera at ``eye`` with unit optical axis ``forward`` and image-right
    axis ``right`` (world frame); image-down completes the right-handed OpenCV frame."""
    T_world_camera = np.eye(4)
    T_world_camera[:3, 0], T_world_camera[:3, 1], T_world_camera[:3, 2] = right, np.cross(forward, right), forward
    T_world_camera[:3, 3] = eye
    return T_world_camera


def look_at(eye: Vector3, target: Vector3) -> np.ndarray:
    """``T_world_camera`` of a camera at ``eye`` looking at ``target`` (world, metres), image rows
    level with the ground (world z up). Raises ``InvalidInputError`` when looking straight up or down."""
    eye_v, target_v = np.asarray(eye, dtype=np.float64), np.asarray(target, dtype=np.float64)
    forward = target_v - eye_v
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, (0.0, 0.0, 1.0))
    if np.linalg.norm(right) < 1e-9:
        raise InvalidInputError("look_at cannot look straight up or down")
    right /= np.linalg.norm(right)
    return _optical_frame(eye_v, forward, right)


def look_heading(eye: Vector3, yaw: float, pitch: float = 0.0) -> np.ndarray:
    """``T_world_camera`` of a camera at ``eye`` (world, metres) heading ``yaw`` radians about +z
    (0 faces +x) and pitched ``pitch`` radians (positive looks up), image rows level with the ground."""
    cy, sy = np.cos(yaw), np.sin(yaw)
    cp, sp = np.cos(pitch), np.sin(pitch)
    return _optical_frame(eye, np.array([cy * cp, sy * cp, sp]), np.array([sy, -cy, 0.0]))
