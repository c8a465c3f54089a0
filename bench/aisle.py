"""A long warehouse aisle for benchmarks: enough surface to grow a map past a million voxels.

The aisle runs along +x: a floor (top at z = 0), walls at y = +-``half_width`` and shelving units of
random sizes along the +y wall, each with its own concept. A camera walks down the aisle looking at
the shelves; ``rearrange`` moves some of the units, as people do, so a later sweep must carve them.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

import numpy as np

from mem3d.geometry import look_at
from mem3d.synthetic import Box, BoxScene, FrameSpec, make_frame, random_concepts
from mem3d.types import CameraIntrinsics, FeatureFrame

FLOOR, WALL = 0, 1
VIT_LIKE_VARIANTS = 24
"""Noisy variants of each visible concept in a frame's palette: 24 gives K ~ 140 rows, what a
ViT-B/32 gives at 448 x 320 (the label path gives fewer, one row per visible label)."""
FIRST_OBJECT_CONCEPT = 2


@dataclass(frozen=True)
class AisleSpec:
    length: float = 800.0
    """Metres of aisle."""
    half_width: float = 3.5
    height: float = 3.0
    unit_spacing: float = 1.3
    """Mean distance between shelving units along the wall, metres."""
    n_concepts: int = 256
    camera_height: float = 1.3
    camera_to_wall: float = 3.0


def aisle_scene(spec: AisleSpec, seed: int = 0) -> BoxScene:
    """Floor, two walls and shelving units of random size along the +y wall."""
    rng = np.random.default_rng(seed)
    length, w, h = spec.length, spec.half_width, spec.height
    boxes = [
        Box((length / 2, 0.0, -0.05), (length + 20.0, 2 * w + 0.2, 0.1), FLOOR, (110, 110, 110)),
        Box((length / 2, w + 0.05, h / 2), (length + 20.0, 0.1, h), WALL, (230, 230, 220)),
        Box((length / 2, -w - 0.05, h / 2), (length + 20.0, 0.1, h), WALL, (230, 230, 220)),
    ]
    x = 0.5
    while x < length:
        size = (rng.uniform(0.4, 1.0), rng.uniform(0.3, 0.7), rng.uniform(0.3, 2.0))
        center = (x + size[0] / 2, w - size[1] / 2 - rng.uniform(0.0, 0.3), size[2] / 2)
        concept = int(rng.integers(FIRST_OBJECT_CONCEPT, spec.n_concepts))
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        boxes.append(Box(center, size, concept, color))
        x += size[0] + rng.exponential(spec.unit_spacing - 0.7)
    return BoxScene(boxes)


def aisle_view(spec: AisleSpec, x: float) -> np.ndarray:
    """Camera at aisle position ``x`` looking at the +y shelves, slightly ahead and down."""
    eye = (x, spec.half_width - spec.camera_to_wall, spec.camera_height)
    return look_at(eye, (x + 0.8, spec.half_width, 0.7))


def rearrange(scene: BoxScene, x_range: tuple[float, float], fraction: float, seed: int = 1) -> int:
    """Move ``fraction`` of the units inside ``x_range`` along the aisle by 0.6-1.5 m; returns how many."""
    rng = np.random.default_rng(seed)
    units = [i for i, b in enumerate(scene.boxes)
             if b.concept >= FIRST_OBJECT_CONCEPT and x_range[0] <= b.center[0] <= x_range[1]]
    chosen = rng.choice(units, size=int(round(fraction * len(units))), replace=False) if units else []
    for index in chosen:
        box = scene.boxes[int(index)]
        shift = rng.uniform(0.6, 1.5) * rng.choice((-1.0, 1.0))
        scene.replace(int(index), box.moved_to((box.center[0] + shift, box.center[1] - 1.2, box.center[2])))
    return len(chosen)


class AisleWalker:
    """A camera walking down the aisle, making the feature frames the benchmarks time."""

    def __init__(self, spec: AisleSpec, feature_dim: int, n_points: int = 20_000, width: int = 640,
                 height: int = 480, hfov_deg: float = 70.0, palette_variants: int = VIT_LIKE_VARIANTS,
                 feature_noise: float = 0.3, seed: int = 0) -> None:
        self.spec = spec
        self.scene = aisle_scene(spec, seed=seed)
        self.concepts = random_concepts(spec.n_concepts, feature_dim, seed=seed)
        self.camera = CameraIntrinsics.from_fov(width, height, hfov_deg)
        self.frame_spec = FrameSpec(n_points=n_points, carve_downsample=4, carve_render_scale=0.5,
                                    palette_variants=palette_variants, feature_noise=feature_noise)
        self.obs_id = 0

    def frame_at(self, x: float) -> FeatureFrame:
        """The next frame, seen from aisle position ``x`` (obs_id and stamp advance)."""
        self.obs_id += 1
        return make_frame(self.scene, self.concepts, self.camera, aisle_view(self.spec, x), obs_id=self.obs_id,
                          stamp=0.1 * self.obs_id, spec=self.frame_spec, rng=np.random.default_rng(self.obs_id))


def machine_info() -> dict:
    """The machine a benchmark ran on, for its JSON."""
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
