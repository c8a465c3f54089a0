"""Shared synthetic scenes with analytic ground truth for the core tests."""

from __future__ import annotations

import numpy as np
import pytest

from mem3d.synthetic import Box, BoxScene, FrameSpec, look_at, make_frame, random_concepts
from mem3d.types import CameraIntrinsics, FeatureFrame
from mem3d.voxel_map import MapConfig, VoxelMap

DIM = 32
FLOOR, WALL, MUG, BOOK, SIDE_WALL = range(5)
UNRELATED = 7  # a concept no box carries


@pytest.fixture(scope="session")
def concepts() -> np.ndarray:
    return random_concepts(8, DIM, seed=3)


@pytest.fixture(scope="session")
def camera() -> CameraIntrinsics:
    return CameraIntrinsics.from_fov(160, 120, 70.0)


def room_boxes() -> list[Box]:
    """A floor (top at z = 0), a wall at x = 3, a mug-sized box and a book-sized box on the floor."""
    return [
        Box((0.0, 0.0, -0.05), (10.0, 10.0, 0.1), FLOOR, (90, 90, 90)),
        Box((3.05, 0.0, 1.5), (0.1, 10.0, 3.0), WALL, (220, 220, 220)),
        Box((1.5, 0.0, 0.25), (0.3, 0.3, 0.5), MUG, (200, 20, 20)),
        Box((1.5, -1.0, 0.1), (0.4, 0.3, 0.2), BOOK, (20, 20, 200)),
    ]


@pytest.fixture
def scene() -> BoxScene:
    return BoxScene(room_boxes())


VIEW = look_at((-1.0, 0.0, 1.2), (3.0, 0.0, 0.4))


def frame_of(scene: BoxScene, concepts: np.ndarray, camera: CameraIntrinsics, obs_id: int,
             pose: np.ndarray = VIEW, spec: FrameSpec = FrameSpec(n_points=6000, carve_downsample=2),
             ) -> FeatureFrame:
    return make_frame(scene, concepts, camera, pose, obs_id=obs_id, stamp=10.0 + obs_id, spec=spec)


@pytest.fixture
def new_map() -> VoxelMap:
    return VoxelMap(MapConfig(feature_dim=DIM, feature_model="synthetic"))


def observe(voxel_map: VoxelMap, scene: BoxScene, concepts: np.ndarray, camera: CameraIntrinsics,
            obs_ids: range, pose: np.ndarray = VIEW) -> None:
    for obs_id in obs_ids:
        voxel_map.update(frame_of(scene, concepts, camera, obs_id, pose))


def box_contains(box: Box, points: np.ndarray, margin: float) -> np.ndarray:
    return np.all((points >= box.min_corner - margin) & (points <= box.max_corner + margin), axis=1)


# --- the memory service, in a thread of the test process, on free loopback ports --------------

@pytest.fixture
def start_service(tmp_path):
    """Start ``MemoryService`` instances (real sockets on 127.0.0.1); all are stopped at the end."""
    import threading

    from mem3d.service.server import MemoryService, ServiceConfig

    started = []

    def start(store=None, **overrides):
        settings = {"bind": "tcp://127.0.0.1:*", "ingest_bind": "tcp://127.0.0.1:*",
                    "publish_bind": "tcp://127.0.0.1:*", "map": MapConfig(feature_dim=DIM, feature_model="synthetic")}
        config = ServiceConfig(store=str(store or tmp_path / "store"), **(settings | overrides))
        service = MemoryService(config)
        thread = threading.Thread(target=service.run, daemon=True)
        thread.start()
        started.append((service, thread))
        return service

    yield start
    for service, thread in started:
        service.stop()
        thread.join(timeout=20)


def client_of(service, **options):
    from mem3d.client import MemoryClient
    return MemoryClient(service.endpoints["requests"], service.endpoints["ingest"], **options)


def serve_process(store, tmp_path, *extra_args):
    """``mem3d serve`` as a real process on free ports; returns (process, endpoints)."""
    import json
    import shutil
    import subprocess
    import sys

    config = tmp_path / "map.yaml"
    config.write_text(f"feature_dim: {DIM}\nfeature_model: synthetic\n")
    mem3d = shutil.which("mem3d", path=str(__import__("pathlib").Path(sys.executable).parent))
    process = subprocess.Popen([mem3d, "serve", "--store", str(store), "--bind", "tcp://127.0.0.1:*",
                                "--map-config", str(config), "--log-level", "WARNING", *extra_args],
                               stdout=subprocess.PIPE, text=True)
    ready = json.loads(process.stdout.readline())
    assert ready["ready"], ready
    return process, ready
