"""Pinhole geometry of the pipeline: sampled pixels with z-depth -> world points."""

from __future__ import annotations

import numpy as np

from mem3d.types import CameraIntrinsics


def unproject(flat_index: np.ndarray, depth: np.ndarray, intrinsics: CameraIntrinsics,
              T_world_camera: np.ndarray) -> np.ndarray:  # noqa: N803
    """(N, 3) float32 world points (metres) of the pixels ``flat_index`` (row-major) with z-depth.

    The pixel centre of (row v, column u) is at (u, v) in the OpenCV optical frame convention."""
    v, u = np.divmod(flat_index, depth.shape[1])
    z = depth.ravel()[flat_index].astype(np.float64)
    camera = np.empty((flat_index.size, 3))
    camera[:, 0] = (u - intrinsics.cx) / intrinsics.fx * z
    camera[:, 1] = (v - intrinsics.cy) / intrinsics.fy * z
    camera[:, 2] = z
    world = camera @ T_world_camera[:3, :3].T + T_world_camera[:3, 3]
    return world.astype(np.float32)
