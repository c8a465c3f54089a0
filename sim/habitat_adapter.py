"""The Habitat adapter: ``HabitatSource`` implements ``mem3d.source.Source`` with the real ``habitat_sim``.

Frames. Habitat's world is y up with agents facing -z; its sensors look along their own -z with y up
(OpenGL). Ours: world z up (REP-103), camera OpenCV optical (x right, y down, z forward). The fixed
rotation ``R_WORLD_HABITAT`` maps Habitat world coordinates to ours (our x = Habitat -z, our y = Habitat
-x, our z = Habitat y), so Habitat's "forward" (-z) is our +x and a Habitat yaw about +y is the same angle
about our +z. Camera axes: OpenCV = OpenGL with y and z flipped.

habitat_sim is imported only when a ``HabitatSource`` is built; the conversions below are pure numpy.
Install it with conda (see docs/sim.md): ``conda install habitat-sim -c conda-forge -c aihabitat``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mem3d.errors import InvalidInputError, NotAvailableError
from mem3d.source import Action, ActionKind, ActionResult
from mem3d.types import CameraIntrinsics, Observation
from sim.config import SimConfig
from sim.mesh_io import Y_UP_TO_Z_UP

R_WORLD_HABITAT = Y_UP_TO_Z_UP
"""Maps Habitat world coordinates (y up, -z forward) to ours (z up, x forward)."""
R_GL_CV = np.diag([1.0, -1.0, -1.0])
"""Maps OpenCV optical camera coordinates to OpenGL/Habitat sensor coordinates (and back)."""
INSTALL_HINT = ("habitat_sim is not installed: install it with conda, e.g. "
                "`conda install habitat-sim withbullet headless -c conda-forge -c aihabitat` (see docs/sim.md)")
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


def habitat_sensor_to_T_world_camera(position: Sequence[float],  # noqa: N802
                                     rotation_wxyz: Sequence[float]) -> np.ndarray:
    """``T_world_camera`` (OpenCV optical) of a Habitat sensor state (position, rotation as w, x, y, z)."""
    pose = np.eye(4)
    pose[:3, :3] = R_WORLD_HABITAT @ quaternion_to_matrix(rotation_wxyz) @ R_GL_CV
    pose[:3, 3] = habitat_point_to_world(position)
    return pose


def T_world_camera_to_habitat_sensor(T_world_camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # noqa: N802, N803
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
                        T_world_camera: np.ndarray, stamp: float, obs_id: int,  # noqa: N803
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


class HabitatSource:
    """A ``Source`` over habitat_sim: RGB, depth and semantic sensors on one agent.

    ``scene`` is a scene id (e.g. an HM3D ``*.basis.glb`` or a Replica ``mesh.ply``); ``scene_dataset``
    its ``*.scene_dataset_config.json`` (needed for HM3D semantics). Camera and action sizes come from
    ``SimConfig`` (explicit ``fx`` must describe square pixels and a centred principal point).
    """

    def __init__(self, scene: str, scene_dataset: str | None = None, config: SimConfig | None = None,
                 semantic: bool = True):
        try:
            import habitat_sim
        except ImportError:
            raise NotAvailableError(INSTALL_HINT) from None
        self._hs = habitat_sim
        self.config = config or SimConfig()
        self.intrinsics = self.config.camera.intrinsics()
        self._sim = habitat_sim.Simulator(self._configuration(scene, scene_dataset, semantic))
        self._agent = self._sim.initialize_agent(0)
        self._object_category, self._category_names = self._semantic_table() if semantic else (None, {})
        self._time, self._next_obs_id, self._started = 0.0, 0, False

    def _configuration(self, scene: str, scene_dataset: str | None, semantic: bool):
        hs = self._hs
        backend = hs.SimulatorConfiguration()
        backend.scene_id = scene
        if scene_dataset:
            backend.scene_dataset_config_file = scene_dataset
        backend.enable_physics = False
        camera, agent_cfg = self.config.camera, self.config.agent
        hfov = hfov_of(self.intrinsics)
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
            spec.hfov = hfov
            specs.append(spec)
        amounts = {"move_forward": agent_cfg.forward_step_m, "turn_left": agent_cfg.turn_deg,
                   "turn_right": agent_cfg.turn_deg, "look_up": agent_cfg.look_deg, "look_down": agent_cfg.look_deg}
        agent = hs.agent.AgentConfiguration()
        agent.radius = agent_cfg.radius_m
        agent.height = agent_cfg.body_height_m
        agent.sensor_specifications = specs
        agent.action_space = {name: hs.agent.ActionSpec(name, hs.agent.ActuationSpec(amount=amount))
                              for name, amount in amounts.items()}
        return hs.Configuration(backend, [agent])

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

    def _camera_pose(self) -> np.ndarray:
        sensor = self._agent.get_state().sensor_states["rgb"]
        q = sensor.rotation
        return habitat_sensor_to_T_world_camera(sensor.position, (q.w, q.x, q.y, q.z))

    def reset(self, seed: int | None = None) -> Observation:
        seed = self.config.seed if seed is None else int(seed)
        self._sim.seed(seed)
        self._sim.pathfinder.seed(seed)
        state = self._hs.AgentState()
        state.position = self._sim.pathfinder.get_random_navigable_point()
        yaw = float(np.random.default_rng(seed).uniform(-np.pi, np.pi))
        state.rotation = self._quaternion(yaw_to_habitat_rotation(yaw))
        self._agent.set_state(state)
        self._started = True
        return self.observe()

    def _quaternion(self, q_wxyz: np.ndarray):
        import quaternion  # numpy-quaternion, a habitat_sim dependency

        return quaternion.quaternion(*q_wxyz)

    def observe(self) -> Observation:
        if not self._started:
            raise InvalidInputError("call reset() before observe()")
        raw = self._sim.get_sensor_observations()
        obs = convert_observation(raw, self.intrinsics, self._camera_pose(), self._time, self._next_obs_id,
                                  self._object_category, self._category_names)
        self._next_obs_id += 1
        self._time += self.config.dt_s
        return obs

    def act(self, action: Action) -> ActionResult:
        if not self._started:
            raise InvalidInputError("call reset() before act()")
        self._time += self.config.dt_s
        if action.kind in _DISCRETE:
            self._sim.step(_DISCRETE[action.kind])
            if action.kind is ActionKind.MOVE_FORWARD and self._sim.previous_step_collided:
                return ActionResult(False, "collided with the scene")
            return ActionResult(True)
        if action.kind is ActionKind.GO_TO:
            return self._go_to(*action.target)  # type: ignore[misc]
        return ActionResult(True, "stopped")

    def _go_to(self, x: float, y: float, yaw: float) -> ActionResult:
        state = self._agent.get_state()
        target = world_point_to_habitat(np.array([x, y, 0.0]))
        target[1] = state.position[1]  # keep the agent on its floor
        if not self._sim.pathfinder.is_navigable(target):
            return ActionResult(False, f"go_to target ({x:.2f}, {y:.2f}) is not navigable")
        path = self._hs.ShortestPath()
        path.requested_start, path.requested_end = state.position, target
        if not self._sim.pathfinder.find_path(path):
            return ActionResult(False, f"go_to target ({x:.2f}, {y:.2f}) is unreachable")
        state.position = target
        state.rotation = self._quaternion(yaw_to_habitat_rotation(yaw))
        self._agent.set_state(state)
        return ActionResult(True, f"travelled {path.geodesic_distance:.2f} m")

    def close(self) -> None:
        if getattr(self, "_sim", None) is not None:
            self._sim.close()
            self._sim = None
