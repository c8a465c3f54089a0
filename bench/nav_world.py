"""What the navigation and localization evaluations share: an apartment with an agent that moves by
honest actions, perception into an in-process memory, the navigator, and the ground-truth scoring.

The navigator and the memory see only observations (poses, images, labels as perception makes them);
the simulator's truth (``source.truth``, ``source.navigation``, the renderer's instance ids) is read
here only to build episodes and to score them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from mem3d.query.localization import LocalizeConfig
from mem3d.types import Observation
from mem3d.voxel_map import MapConfig
from planners.astar import distance_field
from planners.body import InProcessMemory, SensedBody
from planners.goals import NOISY_STANDOFF, box_distance
from planners.navigator import NavConfig, Navigator

SUCCESS_DISTANCE_M = 1.0
"""ObjectNav: the agent stops within this of the goal instance's box (floor plane)."""
VIEW_MIN_PIXELS = 10
"""... and the instance covers at least this many pixels of some view from the stop."""


@dataclass(frozen=True)
class WorldConfig:
    width: int = 160
    height: int = 120
    samples: int = 4000
    """Points per perceived frame."""
    perception: str = "label"
    """"label" (exact label embeddings, label-minilm) or "degraded" (perception.degradation.DEGRADED)."""
    max_actions_per_goal: int = 300


@dataclass
class World:
    """One apartment: the source, the memories fed by every view, the navigator driving on ``memory``."""

    source: object
    memory: InProcessMemory
    navigator: Navigator
    static: InProcessMemory | None = None
    """Fed the same views with carving off (the static-map baseline), when asked for."""
    seen: set[int] = field(default_factory=set)
    """Instance ids that covered ``VIEW_MIN_PIXELS`` of some view so far (scoring: which goals were seen
    before)."""


@functools.cache
def label_encoder():
    """The label-minilm encoder, loaded once per process."""
    from mem3d.encoder import create_encoder

    return create_encoder("label-minilm")


def episodes(run_one: Callable[[int], object], seeds: Iterable[int], workers: int = 0) -> Iterator[tuple[int, object]]:
    """``(seed, run_one(seed))`` for every seed, as episodes finish: in ``workers`` spawned processes
    (0 = one per CPU core; 1 = in this process, in seed order). Episodes are independent and seeded,
    so the results do not depend on ``workers``; ``run_one`` must pickle (a module-level function or a
    ``functools.partial`` of one)."""
    seeds = list(seeds)
    workers = min(len(seeds), workers or os.cpu_count() or 1)
    if workers <= 1:
        for seed in seeds:
            yield seed, run_one(seed)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        running = {pool.submit(run_one, seed): seed for seed in seeds}
        for done in as_completed(running):
            yield running[done], done.result()


def map_config(encoder) -> MapConfig:
    info = encoder.info
    return MapConfig(feature_dim=info.feature_dim, feature_model=info.model_id,
                     localize=LocalizeConfig(threshold=info.match_threshold))


def make_world(seed: int, config: WorldConfig, encoder, static: bool = False) -> World:
    """Apartment ``seed`` at its episode start, with perception ``config.perception``."""
    from dataclasses import replace

    from perception.config import FrameConfig
    from perception.degradation import DEGRADED, degrade
    from perception.frames import build_feature_frame
    from sim.config import CameraConfig, SimConfig
    from sim.embedded import EmbeddedSimSource

    if config.perception not in ("label", "degraded"):
        raise ValueError(f"perception must be 'label' or 'degraded', got {config.perception!r}")
    source = EmbeddedSimSource.from_spec(seed, SimConfig(camera=CameraConfig(width=config.width, height=config.height),
                                                         render_threads=1))
    first = source.reset(seed)
    memory = InProcessMemory(map_config(encoder), encoder)
    baseline = InProcessMemory(map_config(encoder), encoder, carve=False) if static else None
    frames = FrameConfig(n_samples=config.samples)
    world = World(source, memory, None, baseline)  # type: ignore[arg-type]

    def perceive(obs: Observation) -> None:
        ids, pixels = np.unique(obs.instance, return_counts=True)  # scoring only: in view as ObjectNav says
        world.seen.update(int(i) for i, n in zip(ids, pixels) if i and n >= VIEW_MIN_PIXELS)
        seen = degrade(obs, replace(DEGRADED, seed=seed)) if config.perception == "degraded" else obs
        frame = build_feature_frame(seen, encoder, frames)
        memory.ingest(frame)
        if baseline is not None:
            baseline.ingest(frame)

    body = SensedBody(source, perceive)
    nav = replace(NavConfig(), max_actions_per_goal=config.max_actions_per_goal)
    if config.perception == "degraded":  # its boxes run past the objects: stand nearer
        nav = replace(nav, standoff=NOISY_STANDOFF)
    world.navigator = Navigator(body, memory, nav)
    perceive(first)
    world.navigator.start(first)
    return world


def visible_from(source, xy, instance_id: int, camera_height: float | None = None) -> bool:
    """Whether the instance covers ``VIEW_MIN_PIXELS`` of a view from ``xy`` turning in place (8 headings,
    level and 30 degrees down): the ObjectNav "in view" check, scoring only."""
    from sim.agent import AgentState, camera_pose

    height = source.config.camera.height_m if camera_height is None else camera_height
    for yaw in np.linspace(-np.pi, np.pi, 8, endpoint=False):
        for tilt in (0.0, -np.pi / 6):
            T = camera_pose(AgentState(float(xy[0]), float(xy[1]), float(yaw), tilt), height, source.scene.floor_z)
            frame = source.renderer.render(source.intrinsics, T)
            if int((frame.instance == instance_id).sum()) >= VIEW_MIN_PIXELS:
                return True
    return False


def succeeded(source, label: str, xy) -> bool:
    """ObjectNav success for a stop at ``xy``: some instance of ``label`` within ``SUCCESS_DISTANCE_M``
    and in view from there."""
    for obj in source.truth.objects():
        if obj.label == label and box_distance(np.asarray(xy), obj.bbox_min, obj.bbox_max) <= SUCCESS_DISTANCE_M \
                and visible_from(source, xy, obj.instance_id):
            return True
    return False


def shortest_path_m(source, start_xy, label: str) -> float:
    """Geodesic length (simulator nav grid, shortcut polyline) from ``start_xy`` to the nearest navigable
    point within ``SUCCESS_DISTANCE_M`` of an instance of ``label``; inf if none is reachable."""
    grid = source.navigation.grid
    rows, cols = np.nonzero(grid.navigable)
    centers = grid.cell_center(rows, cols)
    near = np.zeros(len(rows), bool)
    for obj in source.truth.objects():
        if obj.label == label:
            near |= box_distance(centers, obj.bbox_min, obj.bbox_max) <= SUCCESS_DISTANCE_M
    if not near.any():
        return float("inf")
    start = grid.snap(np.asarray(start_xy))
    r0, c0 = grid.to_cell(start)
    cost = np.where(grid.navigable, 1.0, np.inf)
    field = distance_field(cost, (int(r0), int(c0)), grid.cell)
    values = field[rows[near], cols[near]]
    if not np.isfinite(values).any():
        return float("inf")
    best = int(np.argmin(values))
    return float(source.navigation.geodesic_distance(start, centers[near][best]))


def spl(success: bool, shortest: float, travelled: float) -> float:
    """Success weighted by path length (Anderson et al. 2018) for one episode."""
    if not success or not np.isfinite(shortest):
        return 0.0
    return float(shortest / max(travelled, shortest)) if shortest > 0 else 1.0
