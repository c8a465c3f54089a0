"""The embedded simulator as a ``mem3d.source.Source``: ray-cast RGB-D + semantics of a scene, an agent
with discrete and go-to actions, scene dynamics, and ground truth for tests and evaluation.

Time: the simulated clock starts at 0 and advances by ``config.dt_s`` after every ``observe`` and every
``act``; ``obs_id`` increases by one per observation. Neither rewinds on ``reset``, so both stay
monotonic for the life of the source. Everything is deterministic given the scene and the seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mem3d.errors import InvalidInputError
from mem3d.source import Action, ActionResult
from mem3d.types import Observation
from sim.agent import Agent, AgentState, camera_pose
from sim.catalogue import description_of
from sim.config import SimConfig, non_negative_int
from sim.dynamics import ChangeEvent, Rearrangement, RearrangementResult, add_object, move_object, remove_object
from sim.navgrid import GeodesicPath, NavGrid
from sim.render import Renderer, observed_depth
from sim.scene import Scene, SceneObject


@dataclass(frozen=True)
class ObjectTruth:
    """Ground truth of one object at one moment (world frame, metres)."""

    instance_id: int
    label: str
    semantic_id: int
    pose: np.ndarray
    """(4, 4) ``T_world_object``."""
    bbox_min: np.ndarray
    bbox_max: np.ndarray
    room: str
    description: str = ""
    """A few words describing the category ("cup" for a mug; "" if it has none)."""


@dataclass(frozen=True)
class TimedChange:
    """A ``ChangeEvent`` with the simulated time and the step at which it happened."""

    stamp: float
    step: int
    event: ChangeEvent


class EmbeddedSimSource:
    """Implements ``reset / observe / act / close`` over a ``Scene``.

    ``events`` are scripted rearrangements applied when the episode reaches their ``at_step`` (one step
    per ``act``).
    """

    def __init__(self, scene: Scene | None = None, config: SimConfig | None = None,
                 events: Sequence[Rearrangement] = ()):
        from sim.apartment import generate_apartment

        self.config = config or SimConfig()
        self.scene = scene if scene is not None else generate_apartment(
            self.config.seed, self.config.apartment, self.config.agent)
        self.intrinsics = self.config.camera.intrinsics()
        self.renderer = Renderer(self.scene, self.config.render_threads)
        self.agent = Agent(self.config.agent)
        self.events = sorted(events, key=lambda e: e.at_step)
        self.changes: list[TimedChange] = []
        """Log of every scene change made through this source, in order."""
        self._grid: NavGrid | None = None
        self._grid_version = -1
        self._state: AgentState | None = None
        self._time = 0.0
        self._next_obs_id = 0
        self._step = 0
        self._episode_seed = self.config.seed
        self._pending: list[Rearrangement] = []
        self._closed = False

    @classmethod
    def from_spec(cls, spec: str | int, config: SimConfig | None = None,
                  events: Sequence[Rearrangement] = ()) -> EmbeddedSimSource:
        """A source over ``sim.scene_io.load_scene(spec)``: a seed, a scene directory, Replica or HM3D."""
        from sim.scene_io import load_scene

        config = config or SimConfig()
        return cls(load_scene(spec, config.apartment, config.agent), config, events)

    # ------------------------------------------------------------------ Source protocol
    def reset(self, seed: int | None = None) -> Observation:
        """Start an episode at a navigable start pose drawn from ``seed`` (default ``config.seed``)."""
        self._require_open()
        self._episode_seed = non_negative_int(self.config.seed if seed is None else seed, "the episode seed")
        rng = np.random.default_rng(self._episode_seed)
        start = self.navgrid.random_point(rng)
        tilt = np.deg2rad(self.config.camera.tilt_deg)
        self._state = self.agent.check_state(AgentState(float(start[0]), float(start[1]),
                                                        float(rng.uniform(-np.pi, np.pi)), tilt), self.navgrid)
        self._step = 0
        self._pending = list(self.events)
        self._apply_due_events()
        return self.observe()

    def observe(self) -> Observation:
        self._require_started()
        pose = camera_pose(self._state, self.config.camera.height_m, self.scene.floor_z)  # type: ignore[arg-type]
        frame = self.renderer.render(self.intrinsics, pose)
        obs_id = self._next_obs_id
        depth = observed_depth(frame.depth, self.config.camera, self._episode_seed, obs_id)
        names, descriptions = self.scene.label_of_semantic(), self.scene.description_of_semantic()
        present = [int(i) for i in np.flatnonzero(np.bincount(frame.semantic.ravel())) if i]
        obs = Observation(frame.rgb, depth, self.intrinsics, pose, self._time, obs_id, frame.semantic,
                          frame.instance, {i: names[i] for i in present},
                          {i: descriptions[i] for i in present if i in descriptions})
        self._next_obs_id += 1
        self._time += self.config.dt_s
        return obs

    def act(self, action: Action) -> ActionResult:
        self._require_started()
        state, result, _ = self.agent.step(self._state, action, self.navgrid)  # type: ignore[arg-type]
        self._state = state
        self._step += 1
        self._time += self.config.dt_s
        self._apply_due_events()
        return result

    def close(self) -> None:
        self._closed = True
        self.renderer = None  # type: ignore[assignment]

    # ------------------------------------------------------------------ agent and navigation
    @property
    def navgrid(self) -> NavGrid:
        """Navigable grid of the current scene (rebuilt after the scene changes)."""
        if self._grid is None or self._grid_version != self.scene.version:
            self._grid = NavGrid.from_scene(self.scene, self.config.agent)
            self._grid_version = self.scene.version
        return self._grid

    @property
    def state(self) -> AgentState:
        self._require_started()
        return self._state  # type: ignore[return-value]

    def set_state(self, state: AgentState) -> None:
        """Teleport the agent; raises ``InvalidInputError`` off navigable floor."""
        self._require_open()
        self._state = self.agent.check_state(state, self.navgrid)

    @property
    def step_count(self) -> int:
        return self._step

    def geodesic_path(self, start_xy: Sequence[float], goal_xy: Sequence[float]) -> GeodesicPath:
        return self.navgrid.geodesic_path(np.asarray(start_xy, float), np.asarray(goal_xy, float))

    def geodesic_distance(self, start_xy: Sequence[float], goal_xy: Sequence[float]) -> float:
        return self.geodesic_path(start_xy, goal_xy).length_m

    # ------------------------------------------------------------------ ground truth
    def ground_truth(self) -> list[ObjectTruth]:
        """Every furniture piece and small object as it is now."""
        truths = []
        for obj in sorted(self.scene.labelled_objects(), key=lambda o: o.instance_id):
            lo, hi = obj.world_bounds()
            truths.append(ObjectTruth(obj.instance_id, obj.label, self.scene.categories[obj.label],
                                      obj.pose.copy(), lo, hi, obj.room, description_of(obj.label)))
        return truths

    @staticmethod
    def visible_instances(obs: Observation, min_pixels: int = 1) -> dict[int, int]:
        """Instance id -> pixel count for the objects visible in ``obs`` (at least ``min_pixels``)."""
        if obs.instance is None:
            raise InvalidInputError("this observation carries no instance image")
        ids, counts = np.unique(obs.instance, return_counts=True)
        return {int(i): int(c) for i, c in zip(ids, counts) if i and c >= min_pixels}

    # ------------------------------------------------------------------ dynamics
    def move_object(self, instance_id: int, pose: np.ndarray | None = None, *, support_id: int | None = None,
                    seed: int = 0, check: bool = True) -> ChangeEvent:
        """Move an object to ``pose`` or onto furniture ``support_id`` (see ``sim.dynamics.move_object``)."""
        return self._log(move_object(self.scene, instance_id, pose, support_id=support_id,
                                     rng=np.random.default_rng(seed), check=check))[0]

    def add_object(self, obj: SceneObject, check: bool = True) -> ChangeEvent:
        return self._log(add_object(self.scene, obj, check))[0]

    def remove_object(self, instance_id: int) -> list[ChangeEvent]:
        return self._log(*remove_object(self.scene, instance_id))

    def rearrange(self, fraction: float = 0.3, seed: int = 0, other_room: bool = True) -> RearrangementResult:
        """Move ``fraction`` of the small objects on furniture to furniture in other rooms, now; the result
        says how many were asked for and holds one event per object actually moved."""
        result = Rearrangement(self._step, fraction, seed, other_room).apply(self.scene)
        self._log(*result.events)
        return result

    def _log(self, *events: ChangeEvent) -> list[ChangeEvent]:
        self.changes += [TimedChange(self._time, self._step, e) for e in events]
        if events and self._state is not None and not self.navgrid.is_navigable(self._state.xy):
            snapped = self.navgrid.snap(self._state.xy)  # furniture moved onto the agent: it steps aside
            self._state = AgentState(float(snapped[0]), float(snapped[1]), self._state.yaw, self._state.tilt)
        return list(events)

    def _apply_due_events(self) -> None:
        while self._pending and self._pending[0].at_step <= self._step:
            self._log(*self._pending.pop(0).apply(self.scene).events)

    def _require_open(self) -> None:
        if self._closed:
            raise InvalidInputError("this source is closed")

    def _require_started(self) -> None:
        self._require_open()
        if self._state is None:
            raise InvalidInputError("call reset() before observe() or act()")
