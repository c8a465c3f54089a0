"""``mem3d bench nav``: the navigation stack's per-frame and per-plan costs.

- ``occupancy_update_ms_p50``: ``TraversabilityGrid.apply`` of one frame's ``MapUpdate`` (``frame_updated``
  voxels seen again, ``frame_added`` new, ``frame_removed`` carved, around a camera 3 m ahead of a
  random point) on a grid over a map of ``n_voxels`` voxels (an apartment-sized floor, walls and
  furniture, 5 cm voxels). The cost follows the frame, not the map.
- ``astar_ms_p50``: heap A* (``planners.astar.astar``) corner to corner of a ``size_m`` square apartment of
  rooms with doors at 5 cm cells, with scipy's Dijkstra distance field (``distance_field``, every cell)
  on the same grid for comparison (``dijkstra_field_ms_p50``).
- ``frontier_update_ms_p50``: merging one frame's changed window (``window_m`` square) into the planner's
  grid copy and updating the frontier mask there (``PlanningGrid.merge`` + ``FrontierMap.update``).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np

from mem3d.map import keys as voxel_keys
from mem3d.nav.traversability import FREE, OCCUPIED, UNKNOWN, OccupancyGrid, TraversabilityGrid
from mem3d.types import MapUpdate
from planners.astar import astar, distance_field
from planners.frontier import FrontierMap
from planners.grid import PlanningGrid


@dataclass(frozen=True)
class NavBenchConfig:
    n_voxels: int = 1_000_000
    frame_updated: int = 8000
    frame_added: int = 3000
    frame_removed: int = 500
    frames: int = 50
    size_m: float = 20.0
    cell_m: float = 0.05
    plans: int = 9
    window_m: float = 4.0
    seed: int = 0


def _apartment_voxels(config: NavBenchConfig, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) int voxel coordinates: the floor of a ``size_m`` square, walls on a 5 m lattice, and
    furniture boxes up to ``n_voxels`` in all."""
    n_side = int(config.size_m / 0.05)
    i, j = np.meshgrid(np.arange(n_side), np.arange(n_side), indexing="ij")
    floor = np.stack([i.ravel(), j.ravel(), np.zeros(i.size, np.int64)], 1)
    wall_cols = np.arange(0, n_side, 100)
    walls = [np.stack(np.meshgrid(wall_cols, np.arange(n_side), np.arange(1, 50), indexing="ij"), -1).reshape(-1, 3)]
    walls.append(walls[0][:, [1, 0, 2]])
    parts = [floor, *walls]
    total = sum(len(p) for p in parts)
    while total < 1.3 * config.n_voxels:  # boxes overlap: draw more, keep the first n distinct voxels
        x, y = rng.integers(0, n_side - 20, 2)
        size = rng.integers(6, 20, 3)
        box = np.stack(np.meshgrid(np.arange(x, x + size[0]), np.arange(y, y + size[1]),
                                   np.arange(1, 1 + size[2]), indexing="ij"), -1).reshape(-1, 3)
        parts.append(box)
        total += len(box)
    coords = np.unique(np.concatenate(parts), axis=0)
    return coords[:config.n_voxels]


def _frame_update(coords: np.ndarray, keys: np.ndarray, config: NavBenchConfig, rng: np.random.Generator,
                  obs_id: int) -> MapUpdate:
    """A frame's update: voxels near a random view point seen again, some new ones, some carved."""
    centre = coords[rng.integers(len(coords)), :2]
    near = np.flatnonzero(np.abs(coords[:, :2] - centre).max(axis=1) < 60)
    updated = keys[rng.choice(near, min(len(near), config.frame_updated), replace=False)]
    removed = keys[rng.choice(near, min(len(near), config.frame_removed), replace=False)]
    new = coords[rng.choice(near, config.frame_added)] + [0, 0, 60]  # above what is there: new voxels
    return MapUpdate(obs_id, float(obs_id), voxel_keys.pack(new), updated, removed, np.empty(0, np.int64))


def _rooms_cost(config: NavBenchConfig) -> np.ndarray:
    n = int(round(config.size_m / config.cell_m))
    cost = np.ones((n, n))
    room = int(round(5.0 / config.cell_m))
    door = int(round(0.9 / config.cell_m))
    for k in range(room, n, room):
        cost[k - 2:k + 2, :] = np.inf
        cost[:, k - 2:k + 2] = np.inf
        for m in range(0, n, room):
            cost[k - 2:k + 2, m + room // 2:m + room // 2 + door] = 1.0
            cost[m + room // 2:m + room // 2 + door, k - 2:k + 2] = 1.0
    return cost


def _p50_ms(times: list[float]) -> float:
    return round(1000 * float(np.median(times)), 3)


def run(config: NavBenchConfig, show_progress: bool = True) -> dict:
    rng = np.random.default_rng(config.seed)
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if show_progress else (lambda text: None)
    say(f"building a map of {config.n_voxels} voxels...")
    coords = _apartment_voxels(config, rng)
    keys = voxel_keys.pack(coords)
    started = time.perf_counter()
    grid = TraversabilityGrid.from_keys(keys, 0.05)
    build_s = time.perf_counter() - started
    updates = [_frame_update(coords, keys, config, rng, k + 1) for k in range(config.frames)]
    times = []
    for k, update in enumerate(updates):
        started = time.perf_counter()
        grid.apply(update, k + 1)
        times.append(time.perf_counter() - started)
    say(f"occupancy update p50 {_p50_ms(times)} ms")

    cost = _rooms_cost(config)
    n = cost.shape[0]
    plan_times, field_times, expanded = [], [], []
    for k in range(config.plans):
        start, goal = (3 + k, 3), (n - 4 - k, n - 4)
        mask = np.zeros(cost.shape, bool)
        mask[goal] = True
        started = time.perf_counter()
        path = astar(cost, start, mask, config.cell_m, goal)
        plan_times.append(time.perf_counter() - started)
        expanded.append(path.expanded)
        started = time.perf_counter()
        distance_field(cost, start, config.cell_m)
        field_times.append(time.perf_counter() - started)
    say(f"A* p50 {_p50_ms(plan_times)} ms, Dijkstra field p50 {_p50_ms(field_times)} ms")

    planning = PlanningGrid(config.cell_m)
    codes = np.where(np.isfinite(cost), FREE, OCCUPIED).astype(np.int8)
    codes[:, n // 2:] = UNKNOWN
    planning.merge(OccupancyGrid(codes, np.zeros(codes.shape), 0, 0, config.cell_m, 1, 1.0))
    frontier = FrontierMap()
    frontier.update(planning, None)
    w = int(round(config.window_m / config.cell_m))
    frontier_times = []
    for k in range(config.frames):
        r0, c0 = rng.integers(0, n - w, 2)
        window = codes[r0:r0 + w, c0:c0 + w].copy()
        window[window == UNKNOWN] = np.where(rng.random(int((window == UNKNOWN).sum())) < 0.3, FREE, UNKNOWN)
        started = time.perf_counter()
        frontier.update(planning, planning.merge(OccupancyGrid(window, np.full(window.shape, float(k)),
                                                               int(c0), int(r0), config.cell_m, k + 2, float(k))))
        frontier_times.append(time.perf_counter() - started)
    say(f"frontier update p50 {_p50_ms(frontier_times)} ms")
    return {
        "n_voxels": int(len(keys)), "grid_build_s": round(build_s, 3),
        "frame_voxels": {"updated": config.frame_updated, "added": config.frame_added,
                         "removed": config.frame_removed},
        "occupancy_update_ms_p50": _p50_ms(times), "occupancy_update_ms_p90": round(1000 * float(
            np.percentile(times, 90)), 3),
        "astar_grid_cells": [int(n), int(n)], "astar_ms_p50": _p50_ms(plan_times),
        "astar_expanded_p50": int(np.median(expanded)), "dijkstra_field_ms_p50": _p50_ms(field_times),
        "frontier_window_cells": [w, w], "frontier_update_ms_p50": _p50_ms(frontier_times),
    }
