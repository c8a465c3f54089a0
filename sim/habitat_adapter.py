"""The Habitat adapter: ``HabitatSource`` implements ``mem3d.source.Source`` with the real ``habitat_sim``.

Frames. Habitat's world is y up with agents facing -z; its sensors look along their own -z with y up
(OpenGL). Ours: world z up (REP-103), camera OpenCV optical (x right, y down, z forward). The fixed
rotation ``R_WORLD_HABITAT`` maps Habitat world coordinates to ours (our x = Habitat -z, our y = Habitat
-x, our z = Habitat y), so Habitat's "forward" (-z) is our +x and a Habitat yaw about +y is the same angle
about our +z. Camera axes: OpenCV = OpenGL with y and z flipped.

habitat_sim is imported only when a ``HabitatSource`` is built; the conversions below are pure numpy.
Written against habitat-sim 0.3.3 (the ``aihabitat-nightly`` conda builds for Python 3.10 / 3.11, see
docs/sim.md): ``Simulator.step`` returns the observations with a ``"collided"`` entry, agent rotations
are set as (x, y, z, w) coefficient arrays, ``ActuationSpec.constraint`` bounds looking up and down, and
``Simulator.step_filter(start, end)`` moves a point along the navmesh as the agent's own steps do (with
``allow_sliding = False``: ``PathFinder.try_step_no_sliding``), which is what ``MOVE_TO`` drives with.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mem3d.errors import InvalidInputError, NotAvailableError
from mem3d.source import Action, ActionKind, ActionResult
from mem3d.types import CameraIntrinsics, Observation
from sim.config import SimConfig, non_negative_int
from sim.mesh_io import Y_UP_TO_Z_UP
from sim.render import observed_depth

R_WORLD_HABITAT = Y_UP_TO_Z_UP
"""Maps Habitat world coordinates (y up, -z forward) to ours (z up, x forward)."""
R_GL_CV = np.diag([1.0, -1.0, -1.0])
"""Maps OpenCV optical camera coordinates to OpenGL/Habitat sensor coordinates (and back)."""
INSTALL_HINT = ("habitat_sim is not installed: install it with conda, e.g. `conda install habitat-sim withbullet "
                "headless -c conda-forge -c aihabitat-nightly` in a Python 3.10 or 3.11 environment (see docs/sim.md)")
_DISCRETE = {ActionKind.MOVE_FORWARD: "move_forward", ActionKind.TURN_LEFT: "turn_left",
             ActionKind.TURN_RIGHT: "turn_right", ActionKind.LOOK_UP: "look_up", ActionKind.LOOK_DOWN: "look_down"}


def quaternion_to_matrix(q_wxyz: Sequence[float]) -> np.ndarray:
    """3x3 rotation of a unit quaternion given as (w, x, y, z)."""
    w, x, y, z = np.asarray(q_wxyz, dtype=np.float64) / np.linalg.norm(q_wxyz)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def matrix_to_quaternion(rotation: np.ndarray) -> np.ndarray:
    """(w, x, y, z) with w >= 0 of a 3x3 rotation matrix."""
    m = np.asarray(rotation, dtype=np.float64)
    trace = np.trace(m)
    if trace > 0:
        s = 2.0 * np.sqrt(1.0 + trace)
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    else:
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * np.sqrt(1.0 + m[i, i] - m[j, j] - m[k, k])
        q = [0.0] * 4
        q[0] = (m[k, j] - m[j, k]) / s
        q[1 + i], q[1 + j], q[1 + k] = 0.25 * s, (m[j, i] + m[i, j]) / s, (m[k, i] + m[i, k]) / s
    q = np.array(q)
    return q if q[0] >= 0 else -q


def habitat_point_to_world(p: np.ndarray) -> np.ndarray:
    """Habitat world point(s) (..., 3) to our world frame."""
    return np.asarray(p, dtype=np.float64) @ R_WORLD_HABITAT.T


def world_point_to_habitat(p: np.ndarray) -> np.ndarray:
    """Our world point(s) (..., 3) to Habitat's world frame."""
    return np.asarray(p, dtype=np.float64) @ R_WORLD_HABITAT


def habitat_sensor_to_T_world_camera(position: Sequence[float],
                                     rotation_wxyz: Sequence[float]) -> np.ndarray:
    """``T_world_camera`` (OpenCV optical) of a Habitat sensor state (position, rotation as w, x, y, z)."""
    T_world_camera = np.eye(4)
    T_world_camera[:3, :3] = R_WORLD_HABITAT @ quaternion_to_matrix(rotation_wxyz) @ R_GL_CV
    T_world_camera[:3, 3] = habitat_point_to_world(position)
    return T_world_camera


def T_world_camera_to_habitat_sensor(T_world_camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of ``habitat_sensor_to_T_world_camera``: (position, rotation (w, x, y, z)) in Habitat's frame."""
    rotation = R_WORLD_HABITAT.T @ T_world_camera[:3, :3] @ R_GL_CV
    return world_point_to_habitat(T_world_camera[:3, 3]), matrix_to_quaternion(rotation)


def yaw_to_habitat_rotation(yaw: float) -> np.ndarray:
    """Habitat agent rotation (w, x, y, z) for our heading ``yaw`` (radians about +z, 0 = facing +x)."""
    return np.array([np.cos(yaw / 2), 0.0, np.sin(yaw / 2), 0.0])


def habitat_rotation_to_yaw(rotation_wxyz: Sequence[float]) -> float:
    """Our heading (radians about +z) of a Habitat agent rotation."""
    forward = R_WORLD_HABITAT @ quaternion_to_matrix(rotation_wxyz) @ np.array([0.0, 0.0, -1.0])
    return float(np.arctan2(forward[1], forward[0]))


def habitat_intrinsics(width: int, height: int, hfov_deg: float) -> CameraIntrinsics:
    """Pinhole intrinsics of a Habitat camera: square pixels, principal point at the image centre."""
    return CameraIntrinsics.from_fov(int(width), int(height), float(hfov_deg))


def hfov_of(intrinsics: CameraIntrinsics) -> float:
    """Horizontal field of view (degrees) of intrinsics Habitat can render; rejects what it cannot."""
    centred = abs(intrinsics.cx - (intrinsics.width - 1) / 2) <= 1e-6 \
        and abs(intrinsics.cy - (intrinsics.height - 1) / 2) <= 1e-6
    if abs(intrinsics.fx - intrinsics.fy) > 1e-6 * intrinsics.fx or not centred:
        raise InvalidInputError("Habitat cameras have square pixels and a centred principal point; "
                                f"cannot render {intrinsics}")
    return float(np.rad2deg(2 * np.arctan(intrinsics.width / (2 * intrinsics.fx))))


def convert_observation(raw: dict[str, np.ndarray], intrinsics: CameraIntrinsics,
                        T_world_camera: np.ndarray, stamp: float, obs_id: int,
                        object_category: np.ndarray | None, category_names: dict[int, str]) -> Observation:
    """Habitat sensor outputs (``rgb`` RGBA uint8, ``depth`` float32 z-depth m, ``semantic`` uint32 object
    ids) to an ``Observation``; ``object_category[object id]`` gives our category id."""
    rgb = np.ascontiguousarray(np.asarray(raw["rgb"])[..., :3], dtype=np.uint8)
    depth = np.asarray(raw["depth"], dtype=np.float32).reshape(intrinsics.height, intrinsics.width)
    depth = np.where(np.isfinite(depth) & (depth > 0), depth, np.float32(0)).astype(np.float32)
    instance = semantic = None
    labels: dict[int, str] = {}
    if "semantic" in raw:
        ids = np.asarray(raw["semantic"]).astype(np.int64).reshape(intrinsics.height, intrinsics.width)
        instance = ids.astype(np.int32)
        if object_category is not None and len(object_category):
            semantic = object_category[np.clip(ids, 0, len(object_category) - 1)].astype(np.int32)
            semantic[ids >= len(object_category)] = 0
            labels = {int(i): category_names[int(i)] for i in np.unique(semantic) if i}
    return Observation(rgb, depth, intrinsics, T_world_camera, stamp, obs_id, semantic, instance, labels)


def simulator_configuration(hs, config: SimConfig, scene: str, scene_dataset: str | None, semantic: bool):
    """``habitat_sim.Configuration`` (``hs`` is the habitat_sim module) of one agent with our camera and
    actions (see ``_agent_configuration``), and no sliding along walls (as in the embedded simulator)."""
    backend = hs.SimulatorConfiguration()
    backend.scene_id = scene
    if scene_dataset:
        backend.scene_dataset_config_file = scene_dataset
    backend.enable_physics = False
    backend.allow_sliding = False
    return hs.Configuration(backend, [_agent_configuration(hs, config, semantic)])


def _agent_configuration(hs, config: SimConfig, semantic: bool):
    """One agent with "rgb", "depth" [and "semantic"] sensors as ``config.camera`` describes (height in
    metres above the agent, pitch in radians), our action sizes, and looking bounded by ``max_tilt_deg``."""
    camera, agent_cfg = config.camera, config.agent
    kinds = [("rgb", hs.SensorType.COLOR), ("depth", hs.SensorType.DEPTH)]
    if semantic:
        kinds.append(("semantic", hs.SensorType.SEMANTIC))
    specs = []
    for uuid, sensor_type in kinds:
        spec = hs.CameraSensorSpec()
        spec.uuid, spec.sensor_type = uuid, sensor_type
        spec.resolution = [camera.height, camera.width]
        spec.position = [0.0, camera.height_m, 0.0]
        spec.orientation = [float(np.deg2rad(camera.tilt_deg)), 0.0, 0.0]
        spec.hfov = hfov_of(camera.intrinsics())
        specs.append(spec)
    actuation, look = hs.agent.ActuationSpec, {"amount": agent_cfg.look_deg, "constraint": agent_cfg.max_tilt_deg}
    actuations = {"move_forward": actuation(amount=agent_cfg.forward_step_m),
                  "turn_left": actuation(amount=agent_cfg.turn_deg), "turn_right": actuation(amount=agent_cfg.turn_deg),
                  "look_up": actuation(**look), "look_down": actuation(**look)}
    agent = hs.agent.AgentConfiguration()
    agent.radius = agent_cfg.radius_m
    agent.height = agent_cfg.body_height_m
    agent.sensor_specifications = specs
    agent.action_space = {name: hs.agent.ActionSpec(name, spec) for name, spec in actuations.items()}
    return agent


def camera_tilt(T_world_camera: np.ndarray) -> float:
    """Pitch of the optical axis above the horizontal plane, radians (positive looks up)."""
    return float(np.arcsin(np.clip(T_world_camera[2, 2], -1.0, 1.0)))


class HabitatSource:
    """A ``Source`` over habitat_sim: RGB, depth and semantic sensors on one agent.

    ``scene`` is a scene id (e.g. an HM3D ``*.basis.glb`` or a Replica ``mesh.ply``); ``scene_dataset``
    its ``*.scene_dataset_config.json`` (needed for HM3D semantics). Camera, depth imperfections and
    action sizes come from ``SimConfig`` (explicit ``fx`` must describe square pixels and a centred
    principal point). Actions behave as in the embedded simulator: a forward step that collides reports
    ``success=False`` (no sliding), looking past ``max_tilt_deg`` stops there with ``success=False``,
    ``MOVE_TO`` turns towards its target and drives the straight segment through Habitat's step filter
    (stopping where the navmesh blocks it), and ``GO_TO`` teleports to a navigable, reachable target.
    """

    def __init__(self, scene: str, scene_dataset: str | None = None, config: SimConfig | None = None,
                 semantic: bool = True):
        try:
            import habitat_sim
        except ImportError:
            raise NotAvailableError(INSTALL_HINT) from None
        config = config or SimConfig()
        simulator = habitat_sim.Simulator(simulator_configuration(habitat_sim, config, scene, scene_dataset, semantic))
        try:
            self._attach(simulator, habitat_sim, config, semantic)
        except BaseException:
            simulator.close()  # its GL context must not outlive a failed start
            raise

    @classmethod
    def from_simulator(cls, simulator, habitat_sim, config: SimConfig | None = None,
                       semantic: bool = True) -> HabitatSource:
        """A source over a simulator built from ``simulator_configuration`` (``habitat_sim`` is its module)."""
        source = cls.__new__(cls)
        source._attach(simulator, habitat_sim, config or SimConfig(), semantic)
        return source

    def _attach(self, simulator, habitat_sim, config: SimConfig, semantic: bool) -> None:
        self._hs = habitat_sim
        self.config = config
        self.intrinsics = config.camera.intrinsics()
        self._sim = simulator
        self._agent = simulator.initialize_agent(0)
        self._object_category, self._category_names = self._semantic_table() if semantic else (None, {})
        self._time, self._next_obs_id, self._episode_seed = 0.0, 0, config.seed
        self._started = False
        self._latest: dict | None = None
        """Sensor outputs returned by the last ``step``, used by the next ``observe`` (no second render)."""

    @property
    def simulator(self):
        """The underlying ``habitat_sim.Simulator`` (its ``pathfinder`` gives geodesic distances)."""
        return self._sim

    def _semantic_table(self) -> tuple[np.ndarray, dict[int, str]]:
        """Object id -> our category id (names numbered in sorted order), from Habitat's semantic scene."""
        objects = [o for o in (self._sim.semantic_scene.objects or []) if o is not None]
        pairs = []
        for obj in objects:
            sid = getattr(obj, "semantic_id", None)
            if sid is None:
                sid = int(str(obj.id).split("_")[-1])
            name = obj.category.name() if obj.category is not None else ""
            if name:
                pairs.append((int(sid), name.strip()))
        names = {name: k + 1 for k, name in enumerate(sorted({n for _, n in pairs}))}
        table = np.zeros(max([s for s, _ in pairs], default=0) + 1, dtype=np.int32)
        for sid, name in pairs:
            if sid >= 0:
                table[sid] = names[name]
        return table, {v: k for k, v in names.items()}

    def _T_world_camera(self) -> np.ndarray:
        sensor = self._agent.get_state().sensor_states["rgb"]
        q = sensor.rotation
        return habitat_sensor_to_T_world_camera(sensor.position, (q.w, q.x, q.y, q.z))

    def _set_agent(self, position: np.ndarray, yaw: float) -> None:
        """Place the agent at a Habitat-frame ``position`` facing our heading ``yaw`` (radians)."""
        state = self._hs.AgentState()
        state.position = np.asarray(position, dtype=np.float64)
        w, x, y, z = yaw_to_habitat_rotation(yaw)
        state.rotation = np.array([x, y, z, w])  # habitat_sim takes (x, y, z, w) coefficients
        self._agent.set_state(state)
        self._latest = None

    def reset(self, seed: int | None = None) -> Observation:
        """Start an episode at a random navigable point and heading drawn from ``seed``."""
        seed = non_negative_int(self.config.seed if seed is None else seed, "the episode seed")
        if self._sim is None:
            raise InvalidInputError("reset() after close(): make a new HabitatSource")
        self._sim.seed(seed)
        self._sim.pathfinder.seed(seed)
        self._set_agent(self._sim.pathfinder.get_random_navigable_point(),
                        float(np.random.default_rng(seed).uniform(-np.pi, np.pi)))
        self._episode_seed, self._started = seed, True
        return self.observe()

    def observe(self) -> Observation:
        self._require_started("observe")
        raw = self._latest if self._latest is not None else self._sim.get_sensor_observations()
        self._latest = None
        obs = convert_observation(raw, self.intrinsics, self._T_world_camera(), self._time, self._next_obs_id,
                                  self._object_category, self._category_names)
        obs.depth = observed_depth(obs.depth, self.config.camera, self._episode_seed, obs.obs_id)
        self._next_obs_id += 1
        self._time += self.config.dt_s
        return obs

    def act(self, action: Action) -> ActionResult:
        self._require_started("act")
        self._time += self.config.dt_s
        if action.kind in _DISCRETE:
            return self._step(action.kind)
        if action.kind is ActionKind.GO_TO:
            return self._go_to(*action.target)
        if action.kind is ActionKind.MOVE_TO:
            return self._move_to(*action.target)
        return ActionResult(True, "stopped")

    def _position(self) -> np.ndarray:
        """The agent's position in Habitat's frame."""
        return np.asarray(self._agent.get_state().position, dtype=np.float64)

    def _step(self, kind: ActionKind) -> ActionResult:
        """One discrete habitat_sim action; ``step`` returns the new observations and ``"collided"``."""
        tilt_before, before = camera_tilt(self._T_world_camera()), self._position()
        self._latest = self._sim.step(_DISCRETE[kind])
        moved = float(np.linalg.norm((self._position() - before)[[0, 2]]))
        if kind is ActionKind.MOVE_FORWARD and bool(self._latest.get("collided", False)):
            return ActionResult(False, "blocked by an obstacle (collided with the scene)", moved)
        if kind in (ActionKind.LOOK_UP, ActionKind.LOOK_DOWN):
            turned = abs(camera_tilt(self._T_world_camera()) - tilt_before)
            if turned < np.deg2rad(self.config.agent.look_deg) - 1e-4:
                return ActionResult(False, "camera tilt limit reached")
        return ActionResult(True, travelled_m=moved)

    def _move_to(self, x: float, y: float, yaw: float) -> ActionResult:
        """Face (x, y), move along the navmesh towards it with ``step_filter`` (in steps of at most
        ``forward_step_m``), then face ``yaw`` if there. Distance: the base's horizontal motion, metres."""
        if not np.isfinite((x, y, yaw)).all():
            return ActionResult(False, f"move_to target must be finite, got {(x, y, yaw)}")
        start = self._position()
        target = world_point_to_habitat(np.array([x, y, 0.0]))
        target[1] = start[1]  # keep the agent on its floor
        offset = habitat_point_to_world(target - start)[:2]
        wanted = float(np.linalg.norm(offset))
        facing = float(np.arctan2(offset[1], offset[0])) if wanted > 1e-9 else yaw
        # Steps of at most ``forward_step_m``: without sliding, Habitat may refuse a whole blocked step.
        reached = start
        for t in np.linspace(0.0, 1.0, max(1, int(np.ceil(wanted / self.config.agent.forward_step_m))) + 1)[1:]:
            wanted_here = start + t * (target - start)
            step = np.array(self._sim.step_filter(reached, wanted_here), dtype=np.float64)  # a magnum Vector3
            blocked = np.linalg.norm((step - wanted_here)[[0, 2]]) > 1e-3
            reached = step
            if blocked:
                break
        moved = float(np.linalg.norm((reached - start)[[0, 2]]))
        if moved < wanted - 1e-3:
            self._set_agent(reached, facing)
            return ActionResult(False, f"blocked by an obstacle after {moved:.3f} m", moved)
        self._set_agent(reached, yaw)
        return ActionResult(True, travelled_m=moved)

    def _go_to(self, x: float, y: float, yaw: float) -> ActionResult:
        if not np.isfinite((x, y, yaw)).all():
            return ActionResult(False, f"go_to target must be finite, got {(x, y, yaw)}")
        start = self._position()
        target = world_point_to_habitat(np.array([x, y, 0.0]))
        target[1] = start[1]  # keep the agent on its floor
        if not self._sim.pathfinder.is_navigable(target):
            return ActionResult(False, f"go_to target ({x:.4g}, {y:.4g}) is not navigable")
        path = self._hs.ShortestPath()
        path.requested_start, path.requested_end = start, target
        if not self._sim.pathfinder.find_path(path):
            return ActionResult(False, f"go_to target ({x:.4g}, {y:.4g}) is unreachable")
        self._set_agent(target, yaw)
        return ActionResult(True, f"travelled {path.geodesic_distance:.2f} m", float(path.geodesic_distance))

    def _require_started(self, what: str) -> None:
        if getattr(self, "_sim", None) is None:
            raise InvalidInputError("this source is closed")
        if not self._started:
            raise InvalidInputError(f"call reset() before {what}()")

    def close(self) -> None:
        if getattr(self, "_sim", None) is not None:
            self._sim.close()
            self._sim = None
