"""Carving: remove voxels that the current depth image shows to be free space.

A stored voxel is removed when it projects inside the image, lies in front of the camera within the
trusted depth range, and the depth observed around its pixel is clearly beyond it (the rays passed
through where it was). Voxels hidden behind nearer surfaces, outside the image, beyond the range or
where depth is missing are kept. Blocks are culled against the view frustum first, so the cost
follows what the camera sees, not the size of the map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mem3d.geometry import project, transform_points
from mem3d.map import keys as voxel_keys
from mem3d.map.grid import VoxelGrid
from mem3d.types import CameraIntrinsics


@dataclass(frozen=True)
class CarveConfig:
    """When observed depth counts as evidence of free space."""

    min_depth: float = 0.2
    """Metres; voxels nearer to the camera than this are never carved."""
    max_depth: float = 4.0
    """Metres; the trusted range: only voxels nearer than this are carved (any valid reading beyond
    a voxel is evidence, however far it is)."""
    margin: float = 0.05
    """Metres; the observed depth must exceed the voxel's depth by at least this much..."""
    relative_margin: float = 0.02
    """...and by this fraction of the voxel's depth (depth noise grows with distance)."""
    window: int = 1
    """Odd pixel window: every pixel around the projection must see beyond the voxel. 1 suits depth
    that was min-pooled when downsampled (``mem3d.integrate.depth.downsample_min``): a voxel covers about one
    pixel of it, and larger windows spare voxels that touch a floor or a wall."""


def frustum_blocks(grid: VoxelGrid, T_camera_world: np.ndarray, intrinsics: CameraIntrinsics,
                   max_depth: float) -> np.ndarray:
    """Rows of allocated blocks whose bounding sphere may intersect the view frustum."""
    rows = grid.blocks.active_rows()
    if rows.size == 0:
        return rows
    radius = 0.5 * np.sqrt(3.0) * voxel_keys.BLOCK_EDGE * grid.voxel_size
    centers = transform_points(T_camera_world, grid.block_centers(rows))
    x, y, z = centers[:, 0], centers[:, 1], centers[:, 2]
    inside = (z > -radius) & (z < max_depth + radius)
    # Side planes of the pinhole frustum through the image borders, with unit normals.
    k = intrinsics
    for a, f, c, size in ((x, k.fx, k.cx, k.width), (y, k.fy, k.cy, k.height)):
        for edge in (-0.5 - c, size - 0.5 - c):  # pixel-border offsets from the principal point
            # plane through the origin containing the ray (edge / f, 1) along this axis
            normal = np.array([f, -edge]) if edge > 0 else np.array([-f, edge])
            normal /= np.linalg.norm(normal)
            inside &= a * normal[0] + z * normal[1] <= radius
    return rows[inside]


def free_space_mask(positions: np.ndarray, depth: np.ndarray, intrinsics: CameraIntrinsics,
                    T_camera_world: np.ndarray, config: CarveConfig) -> np.ndarray:
    """True for each world position (M, 3) that the depth image shows to be free space."""
    camera = transform_points(T_camera_world, positions)
    z = camera[:, 2]
    in_range = (z >= config.min_depth) & (z <= config.max_depth)
    u, v = project(intrinsics, camera[:, 0], camera[:, 1], np.where(in_range, z, 1.0))
    u, v = np.rint(u).astype(np.int64), np.rint(v).astype(np.int64)
    visible = in_range & (u >= 0) & (u < intrinsics.width) & (v >= 0) & (v < intrinsics.height)
    nearest = _nearest_depth(depth, config.window)
    observed = np.zeros_like(z)
    observed[visible] = nearest[v[visible], u[visible]]
    beyond = observed > z + np.maximum(config.margin, config.relative_margin * z)
    return visible & beyond


def _nearest_depth(depth: np.ndarray, window: int) -> np.ndarray:
    """Per pixel, the nearest depth in a ``window`` x ``window`` patch; 0 if any of it is missing."""
    if window <= 1:
        return depth
    from scipy import ndimage  # here: importing it costs offline readers (mem3d query) 0.3 s

    # Missing depth must win the minimum, so mark it below every real depth, then map it back to 0.
    marked = np.where(depth > 0, depth, -1.0).astype(np.float32)
    return np.maximum(ndimage.minimum_filter(marked, size=window, mode="nearest"), 0.0)


def carve(grid: VoxelGrid, depth: np.ndarray, intrinsics: CameraIntrinsics,
          T_world_camera: np.ndarray, config: CarveConfig) -> np.ndarray:
    """Slots of voxels that the depth image shows to be free space (nothing is removed here)."""
    T_camera_world = np.linalg.inv(T_world_camera)
    rows = frustum_blocks(grid, T_camera_world, intrinsics, config.max_depth)
    slots = grid.slots_in_blocks(rows)
    if slots.size == 0:
        return slots
    free = free_space_mask(grid.store.position[slots], depth, intrinsics, T_camera_world, config)
    return slots[free]
