"""Analytic ray geometry to check the renderer: exact z-depth of axis-aligned boxes and planes.

Pixel (u, v) has its centre at integer coordinates; its ray direction in the camera frame is
((u - cx) / fx, (v - cy) / fy, 1), so a ray parameter t is directly the z-depth (metres).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mem3d.types import CameraIntrinsics
from sim.mesh import box_between
from sim.scene import ObjectKind, Scene, SceneObject

Box = tuple[np.ndarray, np.ndarray]


def pixel_rays(intrinsics: CameraIntrinsics, T_world_camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # noqa: N803
    """Camera centre (3,) and world ray directions (H, W, 3) in float64, camera-z component 1."""
    u = (np.arange(intrinsics.width) - intrinsics.cx) / intrinsics.fx
    v = (np.arange(intrinsics.height) - intrinsics.cy) / intrinsics.fy
    uu, vv = np.meshgrid(u, v)
    cam = np.stack([uu, vv, np.ones_like(uu)], axis=-1)
    return T_world_camera[:3, 3].copy(), cam @ T_world_camera[:3, :3].T


def plane_zdepth(intrinsics: CameraIntrinsics, T_world_camera: np.ndarray, point: Sequence[float],  # noqa: N803
                 normal: Sequence[float]) -> np.ndarray:
    """(H, W) z-depth of the plane through ``point`` with ``normal``; inf where the ray misses it."""
    origin, directions = pixel_rays(intrinsics, T_world_camera)
    n = np.asarray(normal, dtype=np.float64)
    denom = directions @ n
    with np.errstate(divide="ignore", invalid="ignore"):
        t = ((np.asarray(point, dtype=np.float64) - origin) @ n) / denom
    return np.where(np.isfinite(t) & (t > 0), t, np.inf)


def box_zdepth(intrinsics: CameraIntrinsics, T_world_camera: np.ndarray, boxes: Sequence[Box],  # noqa: N803
               grazing_m: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) z-depth of the nearest of several axis-aligned boxes (slab method), inf where all miss; and
    a mask of grazing rays, which pass within about ``grazing_m`` of some box's silhouette (a float32
    renderer may legitimately decide those either way)."""
    origin, directions = pixel_rays(intrinsics, T_world_camera)
    best = np.full(directions.shape[:2], np.inf)
    grazing = np.zeros(directions.shape[:2], dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse = 1.0 / directions
        for lo, hi in boxes:
            t0 = (np.asarray(lo) - origin) * inverse
            t1 = (np.asarray(hi) - origin) * inverse
            near = np.nanmax(np.minimum(t0, t1), axis=-1)
            far = np.nanmin(np.maximum(t0, t1), axis=-1)
            hit = (near <= far) & (near > 0)
            best = np.where(hit & (near < best), near, best)
            grazing |= np.abs(far - near) < grazing_m
    return best, grazing


def box_scene(boxes: Sequence[tuple[Sequence[float], Sequence[float], str]]) -> tuple[Scene, list[Box]]:
    """A scene of labelled axis-aligned boxes (lo, hi, label) with identity poses, and the boxes."""
    scene = Scene()
    result = []
    palette = [(200, 60, 60), (60, 160, 60), (60, 80, 200), (200, 200, 60), (160, 60, 160)]
    for k, (lo, hi, label) in enumerate(boxes):
        color = palette[k % len(palette)]
        kind = ObjectKind.STRUCTURE if label in ("floor", "wall") else ObjectKind.FURNITURE
        scene.add(SceneObject(k + 1, label, box_between(lo, hi, color), np.eye(4), color, kind))
        result.append((np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)))
    return scene, result


def reference_scene() -> tuple[Scene, list[Box]]:
    """Floor (top at z = 0), a wall (x in [4, 4.2]) and a 0.6 m crate: the benchmark's depth check."""
    return box_scene([((-10.0, -10.0, -0.1), (10.0, 10.0, 0.0), "floor"),
                      ((4.0, -10.0, 0.0), (4.2, 10.0, 2.5), "wall"),
                      ((1.8, -0.2, 0.0), (2.4, 0.4, 0.6), "crate")])


def depth_max_abs_error(rendered: np.ndarray, expected: np.ndarray,
                        ignore: np.ndarray | None = None) -> tuple[float, int]:
    """Largest |rendered - expected| over the pixels where both see a surface (minus ``ignore``), and how
    many pixels that is. A pixel seen by one and not the other makes the error ``inf``."""
    keep = np.ones(rendered.shape, dtype=bool) if ignore is None else ~ignore
    both = (rendered > 0) & np.isfinite(expected) & keep
    disagree = ((rendered > 0) != np.isfinite(expected)) & keep
    if disagree.any():
        return float("inf"), int(both.sum())
    if not both.any():
        return 0.0, 0
    return float(np.abs(rendered[both].astype(np.float64) - expected[both]).max()), int(both.sum())
