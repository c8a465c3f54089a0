"""Habitat frame and intrinsics conversions (pure numpy), and the adapter where habitat_sim exists."""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace

import numpy as np
import pytest

from mem3d.errors import InvalidInputError, NotAvailableError
from mem3d.source import Action, ActionKind, Source
from mem3d.types import CameraIntrinsics
from sim.agent import AgentState, camera_pose
from sim.config import CameraConfig, SimConfig
from sim.habitat_adapter import (
    HabitatSource,
    T_world_camera_to_habitat_sensor,
    camera_tilt,
    convert_observation,
    habitat_intrinsics,
    habitat_point_to_world,
    habitat_rotation_to_yaw,
    habitat_sensor_to_T_world_camera,
    hfov_of,
    matrix_to_quaternion,
    quaternion_to_matrix,
    simulator_configuration,
    world_point_to_habitat,
    yaw_to_habitat_rotation,
)

HABITAT_REASON = "habitat_sim is not installable here (no wheel for this platform); install with conda"


def quat_mul(a, b):
    w1, x1, y1, z1 = a
    w2, x2, y2, z2 = b
    return np.array([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2])


def habitat_sensor_rotation(yaw: float, tilt: float) -> np.ndarray:
    """Agent yaw about Habitat +y, then the sensor pitched about its +x (positive = look up)."""
    return quat_mul(yaw_to_habitat_rotation(yaw), np.array([np.cos(tilt / 2), np.sin(tilt / 2), 0.0, 0.0]))


def test_world_axes_map_y_up_minus_z_forward_to_z_up_x_forward():
    np.testing.assert_allclose(habitat_point_to_world([0, 1, 0]), [0, 0, 1])  # up
    np.testing.assert_allclose(habitat_point_to_world([0, 0, -1]), [1, 0, 0])  # forward
    np.testing.assert_allclose(habitat_point_to_world([1, 0, 0]), [0, -1, 0])  # right
    p = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(world_point_to_habitat(habitat_point_to_world(p)), p)


def test_identity_sensor_looks_forward_with_image_y_down():
    T_world_camera = habitat_sensor_to_T_world_camera([1.0, 1.5, -2.0], [1, 0, 0, 0])
    np.testing.assert_allclose(T_world_camera[:3, 3], [2.0, -1.0, 1.5])
    np.testing.assert_allclose(T_world_camera[:3, 2], [1, 0, 0], atol=1e-12)  # optical axis = Habitat -z = our +x
    np.testing.assert_allclose(T_world_camera[:3, 1], [0, 0, -1], atol=1e-12)  # image down = world down
    np.testing.assert_allclose(T_world_camera[:3, 0], [0, -1, 0], atol=1e-12)  # image right = Habitat +x = our -y


@pytest.mark.parametrize("yaw, tilt", [(0.0, 0.0), (0.7, 0.0), (-2.5, 0.3), (3.0, -0.8)])
def test_habitat_yaw_and_pitch_give_the_embedded_camera_pose(yaw, tilt):
    position_h = world_point_to_habitat([1.0, -2.0, 1.2])
    T_world_camera = habitat_sensor_to_T_world_camera(position_h, habitat_sensor_rotation(yaw, tilt))
    np.testing.assert_allclose(T_world_camera, camera_pose(AgentState(1.0, -2.0, yaw, tilt), 1.2), atol=1e-12)
    assert habitat_rotation_to_yaw(yaw_to_habitat_rotation(yaw)) == pytest.approx(yaw)
    position, rotation = T_world_camera_to_habitat_sensor(T_world_camera)
    np.testing.assert_allclose(position, position_h, atol=1e-12)
    np.testing.assert_allclose(quaternion_to_matrix(rotation), quaternion_to_matrix(habitat_sensor_rotation(yaw, tilt)),
                               atol=1e-12)


def test_quaternion_round_trip():
    rng = np.random.default_rng(1)
    for _ in range(50):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        q = q if q[0] >= 0 else -q
        np.testing.assert_allclose(matrix_to_quaternion(quaternion_to_matrix(q)), q, atol=1e-9)


def test_habitat_intrinsics_project_like_its_opengl_camera():
    width, height, hfov = 160, 120, 79.0
    K = habitat_intrinsics(width, height, hfov)
    assert hfov_of(K) == pytest.approx(hfov)
    rng = np.random.default_rng(2)
    tan_h = np.tan(np.deg2rad(hfov) / 2)
    tan_v = tan_h * height / width
    for _ in range(20):
        p = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1), -rng.uniform(1, 5)])  # Habitat sensor frame
        x_ndc, y_ndc = p[0] / -p[2] / tan_h, p[1] / -p[2] / tan_v
        col, row = (x_ndc + 1) / 2 * width - 0.5, (1 - y_ndc) / 2 * height - 0.5  # pixel centres at integers
        q = np.diag([1.0, -1.0, -1.0]) @ p  # OpenCV optical frame
        u, v = K.fx * q[0] / q[2] + K.cx, K.fy * q[1] / q[2] + K.cy
        assert (u, v) == (pytest.approx(col), pytest.approx(row))
    with pytest.raises(InvalidInputError, match="square pixels"):
        hfov_of(CameraIntrinsics(100, 90, 79.5, 59.5, 160, 120))


def test_convert_observation_from_raw_sensor_outputs():
    K = habitat_intrinsics(4, 3, 90.0)
    raw = {"rgb": np.full((3, 4, 4), 200, np.uint8), "depth": np.array([[1, 2, 0, np.nan]] * 3, np.float32),
           "semantic": np.array([[0, 1, 2, 9]] * 3, np.uint32)}
    table = np.array([0, 5, 5], np.int32)  # object ids 1 and 2 are both category 5
    obs = convert_observation(raw, K, np.eye(4), 0.5, 7, table, {5: "chair"}).validate()
    assert obs.rgb.shape == (3, 4, 3) and (obs.depth[:, 2:] == 0).all() and obs.depth[0, 1] == 2.0
    assert obs.instance[0].tolist() == [0, 1, 2, 9] and obs.semantic[0].tolist() == [0, 5, 5, 0]
    assert obs.labels == {5: "chair"}


@pytest.mark.skipif(importlib.util.find_spec("habitat_sim") is not None, reason="habitat_sim is installed here")
def test_without_habitat_sim_the_source_says_how_to_install_it():
    with pytest.raises(NotAvailableError, match="conda install habitat-sim"):
        HabitatSource("any.glb")


def fake_habitat_module() -> SimpleNamespace:
    """Stands in for the ``habitat_sim`` module (not installable here): plain records for the classes the
    adapter builds, so what it configures can be read back."""
    return SimpleNamespace(
        SimulatorConfiguration=SimpleNamespace, CameraSensorSpec=SimpleNamespace, AgentState=SimpleNamespace,
        ShortestPath=SimpleNamespace, SensorType=SimpleNamespace(COLOR="color", DEPTH="depth", SEMANTIC="semantic"),
        Configuration=lambda sim_cfg, agents: SimpleNamespace(sim_cfg=sim_cfg, agents=agents),
        agent=SimpleNamespace(
            AgentConfiguration=SimpleNamespace,
            ActionSpec=lambda name, actuation: SimpleNamespace(name=name, actuation=actuation),
            ActuationSpec=lambda amount, constraint=None: SimpleNamespace(amount=amount, constraint=constraint)))


class FakeHabitatAgent:
    """Stands in for ``habitat_sim.Agent``: a position in Habitat's frame (y up), a heading and a sensor pitch."""

    def __init__(self, camera_height_m: float):
        self.position, self.yaw, self.pitch, self.camera_height_m = np.zeros(3), 0.0, 0.0, camera_height_m

    def set_state(self, state) -> None:
        x, y, z, w = state.rotation  # habitat_sim takes (x, y, z, w) coefficients
        self.position, self.yaw = np.asarray(state.position, dtype=float), habitat_rotation_to_yaw((w, x, y, z))

    def get_state(self) -> SimpleNamespace:
        w, x, y, z = habitat_sensor_rotation(self.yaw, self.pitch)
        sensor = SimpleNamespace(position=self.position + [0.0, self.camera_height_m, 0.0],
                                 rotation=SimpleNamespace(w=w, x=x, y=y, z=z))
        return SimpleNamespace(position=self.position.copy(), sensor_states={"rgb": sensor})


class FakeHabitatPathfinder:
    """Stands in for ``habitat_sim.nav.PathFinder``: navigable floor up to a wall across Habitat's -z."""

    def __init__(self, wall_z: float):
        self.wall_z = wall_z

    def seed(self, seed: int) -> None:
        pass

    def get_random_navigable_point(self) -> np.ndarray:
        return np.zeros(3)

    def is_navigable(self, point) -> bool:
        return bool(point[2] >= self.wall_z)

    def find_path(self, path) -> bool:
        path.geodesic_distance = float(np.linalg.norm(np.subtract(path.requested_end, path.requested_start)))
        return True


class FakeHabitatSimulator:
    """Stands in for ``habitat_sim.Simulator``, which cannot be installed here. Like the real one,
    ``step(name)`` returns the sensor observations plus ``"collided"``; a forward step stops at the wall
    (Habitat z = ``wall_z``, our x = -wall_z) and looking up or down stops at ``max_tilt_deg``."""

    def __init__(self, config: SimConfig, wall_z: float = -0.6, objects=()):
        self.config = config
        self.agent = FakeHabitatAgent(config.camera.height_m)
        self.pathfinder = FakeHabitatPathfinder(wall_z)
        self.semantic_scene = SimpleNamespace(objects=list(objects))
        self.renders = 0

    def initialize_agent(self, agent_id: int) -> FakeHabitatAgent:
        return self.agent

    def seed(self, seed: int) -> None:
        pass

    def step(self, action: str) -> dict:
        agent, cfg = self.agent, self.config.agent
        collided = False
        if action == "move_forward":
            heading = world_point_to_habitat([np.cos(agent.yaw), np.sin(agent.yaw), 0.0])
            target = agent.position + cfg.forward_step_m * heading
            collided = target[2] < self.pathfinder.wall_z
            target[2] = max(target[2], self.pathfinder.wall_z)
            agent.position = target
        elif action in ("turn_left", "turn_right"):
            agent.yaw += np.deg2rad(cfg.turn_deg) * (1 if action == "turn_left" else -1)
        else:
            limit = np.deg2rad(cfg.max_tilt_deg)
            wanted = agent.pitch + np.deg2rad(cfg.look_deg) * (1 if action == "look_up" else -1)
            agent.pitch = float(np.clip(wanted, -limit, limit))
        return {**self.get_sensor_observations(), "collided": collided}

    def step_filter(self, start, end) -> np.ndarray:
        """As habitat_sim's, without sliding: the end point, or the start when the step crosses the wall."""
        return np.array(start if end[2] < self.pathfinder.wall_z else end, dtype=float)

    def get_sensor_observations(self) -> dict:
        self.renders += 1
        h, w = self.config.camera.height, self.config.camera.width
        return {"rgb": np.full((h, w, 4), 90, np.uint8), "depth": np.full((h, w), 2.0, np.float32),
                "semantic": np.tile(np.array([0, 1, 2, 7], np.uint32), (h, w // 4))}

    def close(self) -> None:
        pass


def fake_source(config: SimConfig | None = None, **kwargs) -> tuple[HabitatSource, FakeHabitatSimulator]:
    config = config or SimConfig(camera=CameraConfig(width=8, height=6))
    simulator = FakeHabitatSimulator(config, **kwargs)
    return HabitatSource.from_simulator(simulator, fake_habitat_module(), config, semantic=False), simulator


def test_configuration_bounds_looking_and_turns_off_sliding():
    config = SimConfig(camera=CameraConfig(width=80, height=60, hfov_deg=79, height_m=0.9, tilt_deg=-10))
    built = simulator_configuration(fake_habitat_module(), config, "room.glb", "hm3d.json", semantic=True)
    assert built.sim_cfg.scene_id == "room.glb" and built.sim_cfg.scene_dataset_config_file == "hm3d.json"
    assert built.sim_cfg.allow_sliding is False  # a blocked forward step reports a collision, as ours does
    (agent,) = built.agents
    assert [s.uuid for s in agent.sensor_specifications] == ["rgb", "depth", "semantic"]
    assert all(s.resolution == [60, 80] and s.hfov == pytest.approx(79) for s in agent.sensor_specifications)
    assert agent.sensor_specifications[0].position == [0.0, 0.9, 0.0]
    actions = agent.action_space
    assert actions["move_forward"].actuation.amount == 0.25 and actions["turn_left"].actuation.constraint is None
    assert actions["look_up"].actuation.constraint == actions["look_down"].actuation.constraint == 60.0


def test_a_forward_step_into_a_wall_reports_habitats_collided_flag():
    source, simulator = fake_source()
    source.reset(0)
    assert source.act(Action(ActionKind.GO_TO, (0.0, 0.0, 0.0))).success  # face our +x = Habitat -z
    results = [source.act(Action(ActionKind.MOVE_FORWARD)) for _ in range(3)]
    assert [r.success for r in results] == [True, True, False] and "blocked" in results[2].message
    renders = simulator.renders
    obs = source.observe()  # the observations the step returned: no second render
    assert simulator.renders == renders and obs.T_world_camera[0, 3] == pytest.approx(0.6)
    assert source.act(Action(ActionKind.TURN_LEFT)).success


def test_habitat_move_to_stops_at_the_wall_through_the_step_filter():
    source, simulator = fake_source()
    source.reset(0)
    result = source.act(Action(ActionKind.MOVE_TO, (0.5, 0.0, 1.0)))  # our +x = Habitat -z, wall at x = 0.6
    assert result.success and result.travelled_m == pytest.approx(0.5)
    assert source.observe().T_world_camera[0, 3] == pytest.approx(0.5)
    assert simulator.agent.yaw == pytest.approx(1.0)
    blocked = source.act(Action(ActionKind.MOVE_TO, (3.0, 0.0, 1.0)))
    assert not blocked.success and "blocked" in blocked.message and blocked.travelled_m < 0.1 + 1e-9
    assert simulator.agent.yaw == pytest.approx(0.0)  # facing along the segment
    assert source.observe().T_world_camera[0, 3] <= 0.6 + 1e-9
    assert source.act(Action(ActionKind.MOVE_FORWARD)).travelled_m == pytest.approx(0.1)  # up to the wall


def test_looking_past_the_tilt_limit_fails_like_the_embedded_agent():
    source, _ = fake_source()
    source.reset(0)
    looks = [source.act(Action(ActionKind.LOOK_UP)).success for _ in range(5)]
    assert looks == [True, True, True, True, False]
    assert np.rad2deg(camera_tilt(source.observe().T_world_camera)) == pytest.approx(60.0)


def test_habitat_depth_gets_the_configured_imperfections():
    far = SimConfig(camera=CameraConfig(width=8, height=6, max_depth_m=1.5))
    assert (fake_source(far)[0].reset(0).depth == 0).all()  # the fake sees everything 2 m away
    lossy = SimConfig(camera=CameraConfig(width=40, height=30, depth_missing_fraction=0.5, depth_noise_std_m=0.01))
    a, b = fake_source(lossy)[0].reset(3), fake_source(lossy)[0].reset(3)
    np.testing.assert_array_equal(a.depth, b.depth)
    assert 0.3 < (a.depth == 0).mean() < 0.7 and np.abs(a.depth[a.depth > 0] - 2.0).max() > 0


def test_habitat_go_to_checks_its_target():
    source, _ = fake_source()
    source.reset(0)
    with pytest.raises(InvalidInputError, match="three numbers"):
        source.act(Action(ActionKind.GO_TO, (1.0, 2.0)))
    assert not source.act(Action(ActionKind.GO_TO, (2.0, 0.0, 0.0))).success  # beyond the wall
    assert not source.act(Action(ActionKind.GO_TO, (np.nan, 0.0, 0.0))).success
    with pytest.raises(InvalidInputError, match="episode seed"):
        source.reset(-1)
    source.close()
    with pytest.raises(InvalidInputError, match="closed"):
        source.observe()


def test_habitat_semantic_ids_become_our_categories():
    chair = SimpleNamespace(semantic_id=1, category=SimpleNamespace(name=lambda: "chair"))
    sofa = SimpleNamespace(semantic_id=2, category=SimpleNamespace(name=lambda: "sofa "))
    config = SimConfig(camera=CameraConfig(width=8, height=6))
    simulator = FakeHabitatSimulator(config, objects=[chair, sofa, None])
    obs = HabitatSource.from_simulator(simulator, fake_habitat_module(), config).reset(0).validate()
    assert obs.instance[0, :4].tolist() == [0, 1, 2, 7]
    assert obs.semantic[0, :4].tolist() == [0, 1, 2, 0] and obs.labels == {1: "chair", 2: "sofa"}


@pytest.mark.habitat
def test_habitat_source_with_the_real_simulator(tmp_path):
    habitat_sim = pytest.importorskip("habitat_sim", reason=HABITAT_REASON)
    from tests.helpers.sim_views import write_glb

    # a floor plane and a wall, y up: enough for a navmesh and all three sensors
    floor = np.array([[-3, 0, -3], [3, 0, -3], [3, 0, 3], [-3, 0, 3]], float)
    wall = np.array([[-3, 0, -3], [3, 0, -3], [3, 2.5, -3], [-3, 2.5, -3]], float)  # our x = 3
    write_glb(tmp_path / "room.glb", np.vstack([floor, wall]), [[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7]],
              np.full((8, 3), 0.7))
    source = HabitatSource(str(tmp_path / "room.glb"), semantic=True)
    try:
        assert isinstance(source, Source) and habitat_sim is not None
        obs = source.reset(0).validate()
        assert (obs.depth > 0).any()
        assert obs.instance is not None and obs.semantic is not None and (obs.semantic == 0).all()  # no annotations
        assert source.act(Action(ActionKind.TURN_LEFT)).success
        assert source.observe().obs_id == obs.obs_id + 1
        assert source.act(Action(ActionKind.GO_TO, (2.0, 0.0, 0.0))).success  # 1 m from the wall, facing it
        results = [source.act(Action(ActionKind.MOVE_FORWARD)) for _ in range(8)]
        assert results[0].success and not results[-1].success and "blocked" in results[-1].message
        assert source.observe().T_world_camera[0, 3] < 3.0
    finally:
        source.close()
