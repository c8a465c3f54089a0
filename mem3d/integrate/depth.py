"""Depth image helpers shared by perception and the map (z-depth in metres, 0 = no measurement)."""

from __future__ import annotations

import numpy as np


def downsample_min(depth: np.ndarray, factor: int) -> np.ndarray:
    """Shrink a depth image by an integer ``factor``, keeping the nearest valid depth of each block.

    The nearest depth is the conservative choice for carving: at an object's silhouette the small
    image still sees the object, so the object's edge voxels are not mistaken for free space. A
    block without any valid pixel becomes 0. Rows and columns beyond a multiple of ``factor`` are
    dropped.
    """
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    if factor == 1:
        return depth.astype(np.float32, copy=True)
    h, w = depth.shape[0] // factor, depth.shape[1] // factor
    cropped = depth[: h * factor, : w * factor]
    marked = np.where(np.isfinite(cropped) & (cropped > 0), cropped, np.inf).astype(np.float32)
    nearest = marked[::factor, ::factor].copy()
    for dv in range(factor):  # factor^2 strided passes over 1/factor^2 of the image each
        for du in range(factor):
            if dv or du:
                np.minimum(nearest, marked[dv::factor, du::factor], out=nearest)
    nearest[np.isinf(nearest)] = 0.0
    return nearest
