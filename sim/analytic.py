"""Analytic ray geometry to check the renderer: exact z-depth of axis-aligned boxes and planes.

Rays come from ``mem3d.geometry`` (pixel centres at integer (u, v), camera-frame directions scaled to
z = 1, so a ray parameter t is directly the z-depth in metres) and boxes are ``mem3d.synthetic.Box``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mem3d.geometry import image_pixels, world_rays
from mem3d.synthetic import NO_HIT, Box, BoxScene, ray_box_intervals
from mem3d.types import CameraIntrinsics
from sim.mesh import box_between
from sim.scene import ObjectKind, Scene, SceneObject


def plane_zdepth(intrinsics: CameraIntrinsics, T_world_camera: np.ndarray, point: Sequence[float],
                 normal: Sequence[float]) -> np.ndarray:
    """(H, W) z-depth of the plane through ``point`` with ``normal``; inf where the ray misses it."""
    origin, directions = world_rays(intrinsics, T_world_camera, *image_pixels(intrinsics))
    n = np.asarray(normal, dtype=np.float64)
    denom = directions @ n
    with np.errstate(divide="ignore", invalid="ignore"):
        t = ((np.asarray(point, dtype=np.float64) - origin) @ n) / denom
    return np.where(np.isfinite(t) & (t > 0), t, np.inf)


def box_zdepth(intrinsics: CameraIntrinsics, T_world_camera: np.ndarray, boxes: Sequence[Box],
               grazing_m: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) z-depth of the nearest of several axis-aligned boxes (slab method), inf where all miss; and
    a mask of grazing rays, which pass within about ``grazing_m`` of some box's silhouette (a float32
    renderer may legitimately decide those either way)."""
    origin, directions = world_rays(intrinsics, T_world_camera, *image_pixels(intrinsics))
    rays = directions.reshape(-1, 3)
    t, hit = BoxScene(list(boxes)).raycast(origin, rays)
    near, far = ray_box_intervals(origin, rays, np.array([b.min_corner for b in boxes]),
                                  np.array([b.max_corner for b in boxes]))
    grazing = (np.abs(far - near) < grazing_m).any(axis=1)
    shape = directions.shape[:2]
    return np.where(hit != NO_HIT, t, np.inf).reshape(shape), grazing.reshape(shape)


def box_scene(boxes: Sequence[tuple[Sequence[float], Sequence[float], str]]) -> tuple[Scene, list[Box]]:
    """A scene of labelled axis-aligned boxes (lo, hi, label) with identity poses, and the boxes (each box's
    concept is its instance id)."""
    scene = Scene()
    result = []
    palette = [(200, 60, 60), (60, 160, 60), (60, 80, 200), (200, 200, 60), (160, 60, 160)]
    for k, (lo, hi, label) in enumerate(boxes):
        color = palette[k % len(palette)]
        kind = ObjectKind.STRUCTURE if label in ("floor", "wall") else ObjectKind.FURNITURE
        scene.add(SceneObject(k + 1, label, box_between(lo, hi, color), np.eye(4), color, kind))
        result.append(Box.between(lo, hi, k + 1, color))
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
