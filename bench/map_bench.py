"""``mem3d bench map``: integration + carving speed, query latency and memory of the voxel map.

The camera walks down a long aisle until the map holds ``target_voxels``, then some shelving units
are moved and the camera sweeps back over them, so carving removes real voxels. Every frame is timed
(``VoxelMap.update`` = carve + integrate; making the synthetic frame is not timed). At the end, the
same last frames also go through the rebuild baseline, side by side, for ``speedup_vs_rebuild``.

``bytes_per_voxel`` is what the map counts (``VoxelMap.nbytes``: the rows its reserved columns ever
used); ``rss_bytes_per_voxel`` checks it from the outside: the process's resident memory once the map
is built, less what it was before, per voxel (an upper bound: it includes frames and buffers).
"""

from __future__ import annotations

import gc
import os
import resource
import time
from dataclasses import asdict, dataclass

import numpy as np
from tqdm import tqdm

from bench.aisle import (
    FIRST_OBJECT_CONCEPT,
    FLOOR,
    VIT_LIKE_VARIANTS,
    AisleSpec,
    AisleWalker,
    machine_info,
    rearrange,
)
from bench.rebuild_baseline import RebuildMap
from mem3d.threads import blas_threads
from mem3d.types import FeatureFrame
from mem3d.voxel_map import MapConfig, VoxelMap


@dataclass(frozen=True)
class MapBenchConfig:
    target_voxels: int = 1_050_000
    feature_dim: int = 512
    n_points: int = 20_000
    width: int = 640
    height: int = 480
    hfov_deg: float = 70.0
    voxel_size: float = 0.05
    step: float = 2.0
    """Metres the camera advances per frame on the way out."""
    sweep_step: float = 0.5
    sweep_frames: int = 40
    rearrange_fraction: float = 0.3
    palette_variants: int = VIT_LIKE_VARIANTS
    feature_noise: float = 0.3
    n_queries: int = 100
    query_noise: float = 0.3
    baseline_frames: int = 3
    seed: int = 0
    blas_threads: int | None = 1
    """BLAS threads for the run (``mem3d.threads``); None = the library's default, one per core."""


def run(config: MapBenchConfig, show_progress: bool = True) -> dict:
    """Run the benchmark and return its figures as a JSON-ready dict."""
    with blas_threads(config.blas_threads):
        return _run(config, show_progress)


def _run(config: MapBenchConfig, show_progress: bool) -> dict:
    aisle = AisleSpec(length=max(60.0, config.target_voxels / 1000.0 + 60.0))  # ~1,350 voxels/m
    walker = AisleWalker(aisle, config.feature_dim, config.n_points, config.width, config.height, config.hfov_deg,
                         config.palette_variants, config.feature_noise, config.seed)
    scene, concepts, next_frame = walker.scene, walker.concepts, walker.frame_at
    rss_before = _resident_bytes()
    voxel_map = VoxelMap(MapConfig(feature_dim=config.feature_dim, voxel_size=config.voxel_size,
                                   feature_model="synthetic"))

    frame_seconds: list[float] = []
    frame_work: list[FrameWork] = []
    comparisons: list[dict] = []
    carved = 0
    collections = _CollectionCount()

    def timed_update(frame: FeatureFrame) -> None:
        nonlocal carved
        faults, collected = _minor_faults(), collections.count
        start, cpu_start = time.perf_counter(), time.thread_time()
        update = voxel_map.update(frame)
        frame_seconds.append(time.perf_counter() - start)
        frame_work.append(FrameWork(len(frame_seconds) - 1, round(1e3 * frame_seconds[-1], 2),
                                    round(1e3 * (time.thread_time() - cpu_start), 2), update.added.size,
                                    update.updated.size, update.removed.size, _minor_faults() - faults,
                                    collections.count - collected))
        carved += update.removed.size

    def compare_with_rebuild(frames: list[FeatureFrame]) -> None:
        """Time the same frames through the rebuild baseline (started from this map) and through ours."""
        baseline = RebuildMap.from_voxel_map(voxel_map)
        rebuild_seconds, ours_start = [], len(frame_seconds)
        for frame in frames:
            start = time.perf_counter()
            baseline.update(frame)
            rebuild_seconds.append(time.perf_counter() - start)
            timed_update(frame)
        ours_ms = 1e3 * float(np.median(frame_seconds[ours_start:]))
        rebuild_ms = 1e3 * float(np.median(rebuild_seconds))
        comparisons.append({"n_voxels": len(voxel_map), "ours_ms": round(ours_ms, 2),
                            "rebuild_ms": round(rebuild_ms, 1), "speedup": round(rebuild_ms / ours_ms, 1)})

    progress = tqdm(total=config.target_voxels, desc="growing the map", unit="voxel", disable=not show_progress)
    x = 0.0
    while len(voxel_map) < config.target_voxels:
        if x > aisle.length:
            raise RuntimeError("the aisle is too short for the target voxel count")
        if not comparisons and len(voxel_map) >= config.target_voxels // 4:
            compare_with_rebuild([next_frame(x)])
        else:
            timed_update(next_frame(x))
        progress.update(len(voxel_map) - progress.n)
        x += config.step
    progress.close()

    x_end = x - config.step
    sweep = [x_end - config.sweep_step * i for i in range(config.sweep_frames)]
    moved = rearrange(scene, (sweep[-1], x_end + 2.0), config.rearrange_fraction, seed=config.seed + 1)
    carved_before_sweep = carved
    n_plain = max(0, len(sweep) - config.baseline_frames)
    for x_sweep in tqdm(sweep[:n_plain], desc="sweeping back", disable=not show_progress):
        timed_update(next_frame(x_sweep))
    compare_with_rebuild([next_frame(x_sweep) for x_sweep in sweep[n_plain:]])

    collections.stop()
    rss_built = _resident_bytes()
    query_stats = _query_latency(voxel_map, scene, concepts, config)
    frame_ms = 1e3 * np.asarray(frame_seconds)
    frame_cpu_ms = np.array([work.cpu_ms for work in frame_work])
    return {
        "frames_per_s": round(1e3 / float(np.median(frame_ms)), 2),
        "frames_per_s_mean": round(len(frame_ms) / (frame_ms.sum() / 1e3), 2),
        "frame_ms_p50": round(float(np.median(frame_ms)), 2),
        "frame_ms_p99": round(float(np.percentile(frame_ms, 99)), 2),
        "frame_cpu_ms_p50": round(float(np.median(frame_cpu_ms)), 2),
        "frame_cpu_ms_p99": round(float(np.percentile(frame_cpu_ms, 99)), 2),
        "tail_frames": _tail(frame_work, float(np.percentile(frame_ms, 99))),
        **query_stats,
        "bytes_per_voxel": round(voxel_map.nbytes() / len(voxel_map), 1),
        "rss_bytes_per_voxel": round((rss_built - rss_before) / len(voxel_map), 1),
        "n_voxels": len(voxel_map),
        "speedup_vs_rebuild": comparisons[-1]["speedup"],
        "speedup_vs_rebuild_by_size": comparisons,
        "n_frames": len(frame_ms),
        "units_moved": moved,
        "carved_voxels": carved,
        "carved_voxels_in_sweep": carved - carved_before_sweep,
        "codebook_centroids": len(voxel_map.codebook),
        "config": asdict(config),
        "machine": machine_info(),
    }


@dataclass(frozen=True)
class FrameWork:
    """One timed frame: wall and thread CPU time (ms), the voxels it changed, what the process paid."""

    frame: int
    wall_ms: float
    cpu_ms: float
    added: int
    updated: int
    removed: int
    minor_faults: int
    """Minor page faults of the thread (first touches of new pages)."""
    gc_collections: int


def _tail(frame_work: list[FrameWork], p99_ms: float) -> list[dict]:
    """The frames at or over the p99, slowest first: where wall >> CPU, the machine stretched them."""
    slow = [work for work in frame_work if work.wall_ms >= p99_ms]
    return [asdict(work) for work in sorted(slow, key=lambda work: -work.wall_ms)]


def _minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_THREAD).ru_minflt


class _CollectionCount:
    """Counts the garbage collector's runs (``gc.callbacks``) until ``stop``."""

    def __init__(self) -> None:
        self.count = 0
        gc.callbacks.append(self._called)

    def _called(self, phase: str, info: dict) -> None:
        self.count += phase == "stop"

    def stop(self) -> None:
        gc.callbacks.remove(self._called)


def _resident_bytes() -> int:
    """Resident memory of this process (Linux ``/proc/self/statm``), bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _query_latency(voxel_map: VoxelMap, scene, concepts: np.ndarray, config: MapBenchConfig) -> dict:
    """Latency of ``localize(top_k=5)`` for queries near mapped concepts (found) and random ones."""
    rng = np.random.default_rng(config.seed + 2)
    objects = [c for c in np.unique(scene.concepts) if c >= FIRST_OBJECT_CONCEPT]  # not floor or walls
    mapped = [c for c in objects if voxel_map.localize(concepts[c], top_k=1).found]
    targets = concepts[rng.choice(mapped, config.n_queries // 2)]
    noise = rng.standard_normal(targets.shape).astype(np.float32)
    noise *= config.query_noise / np.linalg.norm(noise, axis=1, keepdims=True)
    near = targets + noise
    unrelated = rng.standard_normal((config.n_queries - near.shape[0], config.feature_dim)).astype(np.float32)
    timings: dict[str, list[float]] = {"found": [], "not_found": []}
    outcomes = {"near": 0, "unrelated": 0}
    for kind, queries in (("near", near), ("unrelated", unrelated)):
        for query in queries:
            start = time.perf_counter()
            result = voxel_map.localize(query, top_k=5)
            elapsed = 1e3 * (time.perf_counter() - start)
            timings["found" if result.found else "not_found"].append(elapsed)
            outcomes[kind] += result.found
    every = np.concatenate([timings["found"], timings["not_found"]])
    stats = {"query_ms_p50": round(float(np.median(every)), 2),
             "query_ms_p99": round(float(np.percentile(every, 99)), 2),
             "queries_near_a_mapped_concept_found": f"{outcomes['near']}/{near.shape[0]}",
             "queries_unrelated_found": f"{outcomes['unrelated']}/{unrelated.shape[0]}"}
    for kind, values in timings.items():
        if values:
            stats[f"query_ms_p50_{kind}"] = round(float(np.median(values)), 2)
    # The worst case, reported apart: the floor matches about a third of all voxels.
    start = time.perf_counter()
    floor = voxel_map.localize(concepts[FLOOR], top_k=5)
    stats["query_ms_floor"] = round(1e3 * (time.perf_counter() - start), 1)
    stats["floor_matching_voxels"] = floor.n_matching_voxels
    return stats
