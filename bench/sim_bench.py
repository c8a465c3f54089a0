"""``mem3d bench sim``: frame rate of the embedded simulator on the default apartment, and depth accuracy.

``frames_per_s``: full observations (RGB + z-depth + semantic + instance, ``Observation`` assembled) per
second while a seeded random walk moves the agent, timing ``observe()`` only. ``depth_max_abs_error_m``:
largest z-depth error against exact ray/box intersection on ``sim.analytic.reference_scene`` and on the
apartment's floor and ceiling planes, over several camera poses.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass

import numpy as np

from mem3d.errors import InvalidInputError
from sim.agent import AgentState, camera_pose
from sim.analytic import box_zdepth, depth_max_abs_error, plane_zdepth, reference_scene
from sim.config import CameraConfig, SimConfig
from sim.embedded import EmbeddedSimSource
from sim.episode import RandomWalk
from sim.render import Renderer


def frame_rate(source: EmbeddedSimSource, frames: int, seed: int = 0) -> dict[str, float]:
    """Time ``frames`` observations along a random walk (after one warm-up frame)."""
    source.reset(seed)
    choose = RandomWalk(seed).actions()
    last = None
    times = []
    for _ in range(frames):
        last = source.act(choose(last))
        start = time.perf_counter()
        source.observe()
        times.append(time.perf_counter() - start)
    total = float(np.sum(times))
    return {"frames_per_s": frames / total, "frame_ms_median": 1000 * float(np.median(times)),
            "frame_ms_p90": 1000 * float(np.percentile(times, 90))}


def depth_error(source: EmbeddedSimSource, poses: int = 8, seed: int = 0) -> dict[str, float]:
    """Max |depth error| on the reference box scene and on the apartment's floor / ceiling pixels."""
    rng = np.random.default_rng(seed)
    intrinsics = source.intrinsics
    scene, boxes = reference_scene()
    renderer = Renderer(scene, source.config.render_threads)
    worst, checked = 0.0, 0
    for _ in range(poses):
        state = AgentState(rng.uniform(-1.0, 0.5), rng.uniform(-1.0, 1.0), rng.uniform(-0.6, 0.6),
                           rng.uniform(-0.6, 0.3))
        T_world_camera = camera_pose(state, rng.uniform(0.5, 1.8))
        expected, grazing = box_zdepth(intrinsics, T_world_camera, boxes)
        error, n = depth_max_abs_error(renderer.render(intrinsics, T_world_camera).depth, expected, grazing)
        worst, checked = max(worst, error), checked + n
    apartment = source.scene
    planes = {"floor": apartment.floor_z, "ceiling": max((o.world_bounds()[0][2] for o in apartment
                                                         if o.label == "ceiling"), default=None)}
    grid = source.navigation.grid
    for _ in range(poses):
        xy = grid.random_point(rng)
        state = AgentState(float(xy[0]), float(xy[1]), rng.uniform(-np.pi, np.pi), rng.uniform(-0.8, 0.8))
        T_world_camera = camera_pose(state, source.config.camera.height_m, apartment.floor_z)
        frame = source.renderer.render(intrinsics, T_world_camera)
        for label, height in planes.items():
            if height is None:
                continue
            ids = [o.instance_id for o in apartment if o.label == label]
            mask = np.isin(frame.instance, ids)
            expected = plane_zdepth(intrinsics, T_world_camera, (0.0, 0.0, height), (0.0, 0.0, 1.0))
            if mask.any():
                worst = max(worst, float(np.abs(frame.depth[mask] - expected[mask]).max()))
                checked += int(mask.sum())
    return {"depth_max_abs_error_m": worst, "depth_pixels_checked": checked}


@dataclass(frozen=True)
class SimBenchConfig:
    frames: int = 60
    """Frames per timed run."""
    repeats: int = 3
    """Timed runs; the median run is reported."""
    width: int = 640
    height: int = 480
    seed: int = 0
    """Apartment layout, random walk and poses of the depth check."""

    def __post_init__(self) -> None:
        for name in ("frames", "repeats", "width", "height"):
            if getattr(self, name) < 1:
                raise InvalidInputError(f"{name} must be >= 1, got {getattr(self, name)}")


def run(config: SimBenchConfig, show_progress: bool = True) -> dict[str, object]:
    """All figures as one JSON-ready dict; the frame rate is the median over ``config.repeats`` runs."""
    import open3d

    def note(text: str) -> None:
        if show_progress:
            print(text, file=sys.stderr, flush=True)

    seed = config.seed
    note(f"building the default apartment (seed {seed})...")
    source = EmbeddedSimSource(config=SimConfig(camera=CameraConfig(width=config.width, height=config.height),
                                                seed=seed))
    source.reset(seed)
    source.observe()  # warm-up: builds the ray casting scene
    runs = []
    for k in range(config.repeats):
        runs.append(frame_rate(source, config.frames, seed + k))
        note(f"run {k + 1}/{config.repeats}: {runs[-1]['frames_per_s']:.1f} frames/s")
    best = sorted(runs, key=lambda r: r["frames_per_s"])[len(runs) // 2]
    accuracy = depth_error(source, seed=seed)
    scene = source.scene
    return {**best, "frames_per_s_runs": [round(r["frames_per_s"], 2) for r in runs], **accuracy,
            "width": config.width, "height": config.height, "frames_per_run": config.frames,
            "n_objects": len(scene.labelled_objects()),
            "n_categories": len({o.label for o in scene.labelled_objects()}),
            "n_triangles": int(sum(o.mesh.n_triangles for o in scene)), "n_rooms": len(scene.rooms),
            "cpu_count": os.cpu_count(), "open3d": open3d.__version__}
