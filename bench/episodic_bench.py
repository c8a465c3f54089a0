"""``mem3d bench episodic``: what the episodic memory costs per frame on top of the map update, and
how fast its queries are, on a map grown to ``target_voxels`` along the synthetic aisle
(``bench.aisle``; by default one palette row per visible concept, as label perception gives;
``palette_variants=24, feature_noise=0.3`` gives the ViT-sized palettes of the service benchmark).

The walker records every frame into the map and the episodic memory; the two are timed separately,
in the same run. ``record_ms_*`` are wall-clock times, ``record_cpu_ms_*`` the recording thread's CPU
time (less sensitive to a shared machine); ``*_at_scale`` take the last tenth of the frames, when the
map, keyframes and instances are near their final size.

The walk is sized to the issue's scale (a million voxels, 2,000 keyframes, 500 instances) by an
honest, denser walk, not by filling the memory synthetically: the camera moves ``step`` = 0.15 m a
frame (1.5 m/s at 10 Hz) ``camera_to_wall`` = 2.5 m from a wall of shelving units every
``unit_spacing`` = 0.8 m on average, and keyframe novelty asks for a keyframe every
``keyframe_every_m`` = 0.145 m, so every frame is a keyframe (the dearest case for the recording:
each frame's depth is encoded and kept). The shelving units become the instances. At a million
voxels the walk has covered about 410 m: about 2,700 frames and keyframes and 530 instances
(``n_keyframes``, ``n_instances`` and ``scale_reached`` say what a run reached).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from bench.aisle import AisleSpec, AisleWalker, machine_info
from mem3d.episodic import queries
from mem3d.episodic.config import EpisodicConfig, KeyframeConfig
from mem3d.episodic.memory import EpisodicMemory
from mem3d.threads import blas_threads
from mem3d.voxel_map import MapConfig, VoxelMap


@dataclass(frozen=True)
class EpisodicBenchConfig:
    target_voxels: int = 1_000_000
    feature_dim: int = 384
    n_points: int = 8000
    width: int = 320
    height: int = 240
    step: float = 0.15
    """Metres walked between frames."""
    keyframe_every_m: float = 0.145
    unit_spacing: float = 0.8
    """Mean distance between shelving units along the wall, metres (``AisleSpec``)."""
    camera_to_wall: float = 2.5
    palette_variants: int = 1
    """Noisy variants of each visible concept in a frame's palette (24: about 140 rows, as a ViT gives)."""
    feature_noise: float = 0.0
    query_repeats: int = 50
    blas_threads: int | None = 1
    seed: int = 0


def run(config: EpisodicBenchConfig, show_progress: bool = True) -> dict:
    with blas_threads(config.blas_threads):
        return _run(config, show_progress)


def _run(config: EpisodicBenchConfig, show_progress: bool) -> dict:
    aisle = AisleSpec(length=max(60.0, config.target_voxels / 1000.0 + 60.0), unit_spacing=config.unit_spacing,
                      camera_to_wall=config.camera_to_wall)
    walker = AisleWalker(aisle, config.feature_dim, config.n_points, config.width, config.height,
                         palette_variants=config.palette_variants, feature_noise=config.feature_noise,
                         seed=config.seed)
    voxel_map = VoxelMap(MapConfig(feature_dim=config.feature_dim, feature_model="synthetic"))
    episodic = EpisodicConfig(keyframes=KeyframeConfig(min_translation_m=config.keyframe_every_m))
    memory = EpisodicMemory(episodic, voxel_map.voxel_size, voxel_map.config.localize.threshold)
    update_s, record_s, record_cpu_s = [], [], []
    progress = tqdm(total=config.target_voxels, desc="walking the aisle", unit="voxel", disable=not show_progress)
    x = 0.0
    while len(voxel_map) < config.target_voxels:
        frame = walker.frame_at(x)
        start = time.perf_counter()
        update = voxel_map.update(frame)
        middle, cpu = time.perf_counter(), time.thread_time()
        memory.record(frame, update, voxel_map, seq=memory.seq + 1)
        record_s.append(time.perf_counter() - middle)
        record_cpu_s.append(time.thread_time() - cpu)
        update_s.append(middle - start)
        progress.update(len(voxel_map) - progress.n)
        x += config.step
    progress.close()
    rng = np.random.default_rng(config.seed)
    concepts = walker.concepts
    n_places = len(memory.places)
    mid = 0.5 * walker.obs_id * 0.1
    asks = {
        "where_last_seen": lambda: queries.where_last_seen(memory, concepts[rng.integers(2, len(concepts))]),
        "history": lambda: queries.history(memory, concepts[rng.integers(2, len(concepts))]),
        "when_seen": lambda: queries.when_seen(memory, concepts[rng.integers(2, len(concepts))]),
        "changes_since": lambda: queries.changes_since(memory, mid),
        "what_was_at": lambda: queries.what_was_at(memory, mid, place=int(rng.integers(n_places))),
        "route": lambda: queries.route(memory, int(rng.integers(n_places)), int(rng.integers(n_places))),
    }
    query_ms = {}
    for name, ask in asks.items():
        seconds = []
        for _ in range(config.query_repeats):
            start = time.perf_counter()
            ask()
            seconds.append(time.perf_counter() - start)
        query_ms[name] = {"p50": round(1e3 * float(np.median(seconds)), 3),
                          "p99": round(1e3 * float(np.percentile(seconds, 99)), 3)}
    update_ms, record_ms, record_cpu_ms = (1e3 * np.asarray(v) for v in (update_s, record_s, record_cpu_s))
    at_scale = slice(len(record_s) - max(1, len(record_s) // 10), None)
    return {
        "n_voxels": len(voxel_map), "n_keyframes": len(memory.keyframes), "n_instances": len(memory.instances),
        "n_places": n_places, "n_events": len(memory.log), "frames": len(record_s),
        "scale_reached": bool(len(voxel_map) >= 1_000_000 and len(memory.keyframes) >= 2000
                              and len(memory.instances) >= 500),
        "record_ms_p50": round(float(np.median(record_ms)), 3),
        "record_ms_p99": round(float(np.percentile(record_ms, 99)), 3),
        "record_ms_mean": round(float(np.mean(record_ms)), 3),
        "record_ms_p50_at_scale": round(float(np.median(record_ms[at_scale])), 3),
        "record_cpu_ms_p50": round(float(np.median(record_cpu_ms)), 3),
        "record_cpu_ms_p50_at_scale": round(float(np.median(record_cpu_ms[at_scale])), 3),
        "update_ms_p50": round(float(np.median(update_ms)), 3),
        "record_over_update": round(float(np.median(record_ms) / np.median(update_ms)), 3),
        "query_ms": query_ms,
        "perception": (f"synthetic aisle, {config.palette_variants} palette row(s) per concept, "
                       f"noise {config.feature_noise}"),
        "machine": machine_info(),
    }
