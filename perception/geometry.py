"""Pinhole geometry of the pipeline: pixels -> world points, and the downsampled carving depth."""

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


def block_min_intrinsics(intrinsics: CameraIntrinsics, factor: int) -> CameraIntrinsics:
    """Intrinsics of an image whose pixel j covers source pixels [j*factor, (j+1)*factor).

    Equal to ``intrinsics.scaled(1 / factor)`` when the size divides by ``factor``; a partial last
    block (padded) is kept, so the size is rounded up."""
    return CameraIntrinsics(intrinsics.fx / factor, intrinsics.fy / factor,
                            (intrinsics.cx + 0.5) / factor - 0.5, (intrinsics.cy + 0.5) / factor - 0.5,
                            -(-intrinsics.width // factor), -(-intrinsics.height // factor))


def carving_depth(depth: np.ndarray, trusted: np.ndarray, factor: int) -> np.ndarray:
    """(ceil(H/f), ceil(W/f)) float32 z-depth: the MINIMUM trusted depth in each f x f block, 0 where
    the block has none. Finite everywhere.

    The minimum, not a subsampled pixel, because carving removes stored voxels that lie clearly in
    front of the observed depth: with the block minimum, a thin object covering part of a block (a
    chair leg, a mug handle) keeps the nearest surface and is never carved away by the wall behind it.
    """
    masked = np.where(trusted, depth, np.float32(np.inf)).astype(np.float32, copy=False)
    height, width = depth.shape
    pad_rows, pad_cols = -height % factor, -width % factor
    if pad_rows or pad_cols:
        masked = np.pad(masked, ((0, pad_rows), (0, pad_cols)), constant_values=np.inf)
    # strided minima: ~10x faster than .reshape(...).min(axis=(1, 3)) on small blocks
    columns = masked[:, 0::factor].copy()
    for offset in range(1, factor):
        np.minimum(columns, masked[:, offset::factor], out=columns)
    nearest = columns[0::factor].copy()
    for offset in range(1, factor):
        np.minimum(nearest, columns[offset::factor], out=nearest)
    nearest[np.isinf(nearest)] = 0.0
    return nearest
