"""Synthetic scenes with analytic ground truth: axis-aligned boxes, exact ray casting, feature frames.

Pure numpy, for unit tests and benchmarks of the core (the full simulator lives in ``sim/``). Walls
and floors are thin boxes. Each box carries a concept id; a concept table (C, D) of unit vectors
stands in for what an encoder would produce for that surface.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mem3d.geometry import image_pixels, transform_points, unproject, world_rays
from mem3d.integrate.depth import downsample_min
from mem3d.types import CameraIntrinsics, FeatureFrame

__all__ = ["NO_HIT", "Box", "BoxScene", "FrameSpec", "make_frame", "random_concepts",
           "ray_box_intervals"]

NO_HIT = -1
_RAY_CHUNK = 32768


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in the world frame (metres) with a concept id and an RGB colour."""

    center: tuple[float, float, float]
    size: tuple[float, float, float]
    concept: int
    color: tuple[int, int, int] = (128, 128, 128)

    @property
    def min_corner(self) -> np.ndarray:
        return np.asarray(self.center, dtype=np.float64) - 0.5 * np.asarray(self.size, dtype=np.float64)

    @property
    def max_corner(self) -> np.ndarray:
        return np.asarray(self.center, dtype=np.float64) + 0.5 * np.asarray(self.size, dtype=np.float64)

    def moved_to(self, center: tuple[float, float, float]) -> Box:
        return Box(center, self.size, self.concept, self.color)

    @classmethod
    def between(cls, lo: tuple[float, float, float], hi: tuple[float, float, float], concept: int,
                color: tuple[int, int, int] = (128, 128, 128)) -> Box:
        """The box with opposite corners ``lo`` and ``hi`` (world, metres)."""
        lo_v, hi_v = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
        return cls(tuple((lo_v + hi_v) / 2.0), tuple(hi_v - lo_v), concept, color)


def ray_box_intervals(origin: np.ndarray, directions: np.ndarray, box_min: np.ndarray,
                      box_max: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slab method: (R, B) entry and exit parameters t of the rays ``origin + t * directions`` (R, 3)
    through the axis-aligned boxes with corners ``box_min``, ``box_max`` (B, 3); a ray meets a box
    where entry <= exit. With camera rays scaled to z = 1, t is the z-depth (metres)."""
    inverse = 1.0 / np.where(directions == 0.0, 1e-30, directions)
    t1 = (box_min - origin)[None, :, :] * inverse[:, None, :]
    t2 = (box_max - origin)[None, :, :] * inverse[:, None, :]
    return np.minimum(t1, t2).max(axis=2), np.maximum(t1, t2).min(axis=2)


class BoxScene:
    """A list of boxes that can be ray cast exactly."""

    def __init__(self, boxes: list[Box]) -> None:
        self.boxes = list(boxes)
        self._refresh()

    def _refresh(self) -> None:
        self._min = np.array([b.min_corner for b in self.boxes]).reshape(-1, 3)
        self._max = np.array([b.max_corner for b in self.boxes]).reshape(-1, 3)
        self.concepts = np.array([b.concept for b in self.boxes], dtype=np.int64)
        self.colors = np.array([b.color for b in self.boxes], dtype=np.uint8).reshape(-1, 3)

    def replace(self, index: int, box: Box) -> None:
        self.boxes[index] = box
        self._refresh()

    def raycast(self, origin: np.ndarray, directions: np.ndarray, max_range: float = np.inf,
                ) -> tuple[np.ndarray, np.ndarray]:
        """Nearest hit parameter t and box index per ray (``NO_HIT`` and t = 0 where nothing is hit)."""
        t_all = np.zeros(directions.shape[0])
        box_all = np.full(directions.shape[0], NO_HIT, dtype=np.int64)
        near_boxes = self._boxes_within(origin, max_range)
        if near_boxes.size == 0:
            return t_all, box_all
        lo, hi = self._min[near_boxes], self._max[near_boxes]
        for start in range(0, directions.shape[0], _RAY_CHUNK):
            d = directions[start:start + _RAY_CHUNK]
            t_near, t_far = ray_box_intervals(origin, d, lo, hi)
            hit = (t_near <= t_far) & (t_near > 0.0)
            t_near[~hit] = np.inf
            best = t_near.argmin(axis=1)
            t_best = t_near[np.arange(d.shape[0]), best]
            found = np.isfinite(t_best) & (t_best <= max_range)
            t_all[start:start + _RAY_CHUNK][found] = t_best[found]
            box_all[start:start + _RAY_CHUNK][found] = near_boxes[best[found]]
        return t_all, box_all

    def _boxes_within(self, origin: np.ndarray, max_range: float) -> np.ndarray:
        """Boxes with any part within ``max_range`` of ``origin``."""
        gap = np.maximum(np.maximum(self._min - origin, origin - self._max), 0.0)
        return np.flatnonzero(np.linalg.norm(gap, axis=1) <= max_range)

    def render(self, intrinsics: CameraIntrinsics, T_world_camera: np.ndarray,
               pixels: np.ndarray | None = None, max_range: float = np.inf,
               ) -> tuple[np.ndarray, np.ndarray]:
        """z-depth (float32, 0 = no hit) and box index per pixel.

        With ``pixels`` (R, 2) float (u, v) the result is per listed pixel; without, full (H, W) images.
        """
        full = pixels is None
        u, v = (a.ravel() for a in image_pixels(intrinsics)) if full else (pixels[:, 0], pixels[:, 1])
        depth, box = self.raycast(*world_rays(intrinsics, T_world_camera, u, v), max_range)
        depth = depth.astype(np.float32)
        if full:
            shape = (intrinsics.height, intrinsics.width)
            return depth.reshape(shape), box.reshape(shape)
        return depth, box


def random_concepts(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """(n, dim) random unit vectors: nearly orthogonal stand-ins for distinct concepts."""
    vectors = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@dataclass(frozen=True)
class FrameSpec:
    """How to sample a synthetic feature frame."""

    n_points: int = 20_000
    carve_downsample: int = 4
    """The carving depth is the camera's depth min-pooled by this factor (0 = no carving depth)."""
    carve_render_scale: float = 1.0
    """Resolution at which that depth is rendered before pooling (< 1 saves time in benchmarks)."""
    palette_variants: int = 1
    """Noisy copies of each concept per frame, like the many patch features of one object."""
    feature_noise: float = 0.0
    """Norm of the noise added to a concept to make a variant (before re-normalisation)."""
    max_range: float = 8.0
    feature_model: str = "synthetic"


def make_frame(scene: BoxScene, concepts: np.ndarray, intrinsics: CameraIntrinsics,
               T_world_camera: np.ndarray, *, obs_id: int, stamp: float,
               spec: FrameSpec = FrameSpec(), rng: np.random.Generator | None = None) -> FeatureFrame:
    """A feature frame of the scene seen from ``T_world_camera``: points at random pixels that hit."""
    rng = rng or np.random.default_rng(obs_id)
    pixels = np.stack([rng.uniform(-0.5, intrinsics.width - 0.5, spec.n_points),
                       rng.uniform(-0.5, intrinsics.height - 0.5, spec.n_points)], axis=1)
    depth, box = scene.render(intrinsics, T_world_camera, pixels, spec.max_range)
    hit = box != NO_HIT
    points = transform_points(T_world_camera, unproject(intrinsics, pixels[hit, 0], pixels[hit, 1], depth[hit]))
    concept_ids, concept_index = np.unique(scene.concepts[box[hit]], return_inverse=True)
    palette, feature_index = _palette(concepts[concept_ids], concept_index, spec, rng)
    carve_depth, carve_intrinsics = None, None
    if spec.carve_downsample > 0:
        render_intrinsics = intrinsics.scaled(spec.carve_render_scale)
        pool = max(1, round(spec.carve_downsample * spec.carve_render_scale))
        rendered, _ = scene.render(render_intrinsics, T_world_camera, max_range=spec.max_range)
        carve_depth = downsample_min(rendered, pool)
        carve_intrinsics = render_intrinsics.binned(pool)
    return FeatureFrame(points=points.astype(np.float32), colors=scene.colors[box[hit]],
                        features=palette, feature_index=feature_index.astype(np.int32),
                        T_world_camera=T_world_camera, stamp=stamp, obs_id=obs_id,
                        depth=carve_depth, intrinsics=carve_intrinsics, feature_model=spec.feature_model)


def _palette(base: np.ndarray, base_index: np.ndarray, spec: FrameSpec,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Expand each base feature into ``palette_variants`` noisy unit copies; points pick one at random."""
    variants = max(1, spec.palette_variants)
    palette = np.repeat(base, variants, axis=0)
    if spec.feature_noise > 0:
        noise = rng.standard_normal(palette.shape).astype(np.float32)
        noise *= spec.feature_noise / np.linalg.norm(noise, axis=1, keepdims=True)
        palette = palette + noise
        palette /= np.linalg.norm(palette, axis=1, keepdims=True)
    index = base_index * variants + rng.integers(0, variants, base_index.shape[0])
    return palette.astype(np.float32), index
