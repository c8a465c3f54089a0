"""The embedded simulator as a ``mem3d.source.Source``: ray-cast RGB-D + semantics of a scene and an agent
with discrete and go-to actions.

The source itself is ``reset / observe / act / close`` plus the agent's state; three collaborators hold
the rest: ``navigation`` (the nav grid and geodesics, ``sim.navgrid.SceneNavigation``), ``truth`` (ground
truth, ``sim.truth.GroundTruth``) and ``dynamics`` (scene changes and their log,
``sim.dynamics.SceneDynamics``).

Time: the simulated clock starts at 0 and advances by ``config.dt_s`` after every ``observe`` and every
``act``; ``obs_id`` increases by one per observation. Neither rewinds on ``reset``, so both stay
monotonic for the life of the source. Everything is deterministic given the scene and the seeds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mem3d.errors import InvalidInputError
from mem3d.source import Action, ActionResult
from mem3d.types import Observation
from sim.agent import Agent, AgentState, camera_pose
from sim.config import SimConfig, non_negative_int
from sim.dynamics import Rearrangement, SceneDynamics
from sim.navgrid import SceneNavigation
from sim.render import Renderer, observed_depth
from sim.scene import Scene
from sim.truth import GroundTruth


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
        self.navigation = SceneNavigation(self.scene, self.config.agent)
        self.truth = GroundTruth(self.scene)
        self.dynamics = SceneDynamics(self.scene, events, clock=lambda: (self._time, self._step),
                                      after_change=self._step_aside)
        self._state: AgentState | None = None
        self._time = 0.0
        self._next_obs_id = 0
        self._step = 0
        self._episode_seed = self.config.seed
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
        grid = self.navigation.grid
        start = grid.random_point(rng)
        tilt = np.deg2rad(self.config.camera.tilt_deg)
        self._state = self.agent.check_state(AgentState(float(start[0]), float(start[1]),
                                                        float(rng.uniform(-np.pi, np.pi)), tilt), grid)
        self._step = 0
        self.dynamics.restart()
        self.dynamics.apply_due(self._step)
        return self.observe()

    def observe(self) -> Observation:
        self._require_started()
        T_world_camera = camera_pose(self._state, self.config.camera.height_m, self.scene.floor_z)  # type: ignore[arg-type]
        frame = self.renderer.render(self.intrinsics, T_world_camera)
        obs_id = self._next_obs_id
        depth = observed_depth(frame.depth, self.config.camera, self._episode_seed, obs_id)
        names, descriptions = self.scene.label_of_semantic(), self.scene.description_of_semantic()
        present = [int(i) for i in np.flatnonzero(np.bincount(frame.semantic.ravel())) if i]
        obs = Observation(frame.rgb, depth, self.intrinsics, T_world_camera, self._time, obs_id, frame.semantic,
                          frame.instance, {i: names[i] for i in present},
                          {i: descriptions[i] for i in present if i in descriptions})
        self._next_obs_id += 1
        self._time += self.config.dt_s
        return obs

    def act(self, action: Action) -> ActionResult:
        self._require_started()
        state, result, _ = self.agent.step(self._state, action, self.navigation.grid)  # type: ignore[arg-type]
        self._state = state
        self._step += 1
        self._time += self.config.dt_s
        self.dynamics.apply_due(self._step)
        return result

    def close(self) -> None:
        self._closed = True
        self.renderer = None  # type: ignore[assignment]

    # ------------------------------------------------------------------ the agent
    @property
    def state(self) -> AgentState:
        self._require_started()
        return self._state  # type: ignore[return-value]

    def set_state(self, state: AgentState) -> None:
        """Teleport the agent; raises ``InvalidInputError`` off navigable floor."""
        self._require_open()
        self._state = self.agent.check_state(state, self.navigation.grid)

    def _step_aside(self) -> None:
        """After a scene change: if furniture moved onto the agent, it steps to the nearest free cell."""
        grid = self.navigation.grid
        if self._state is not None and not grid.is_navigable(self._state.xy):
            snapped = grid.snap(self._state.xy)
            self._state = AgentState(float(snapped[0]), float(snapped[1]), self._state.yaw, self._state.tilt)

    def _require_open(self) -> None:
        if self._closed:
            raise InvalidInputError("this source is closed")

    def _require_started(self) -> None:
        self._require_open()
        if self._state is None:
            raise InvalidInputError("call reset() before observe() or act()")
