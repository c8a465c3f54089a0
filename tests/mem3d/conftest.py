"""Fixtures of the core tests: concept vectors, a camera, the room scene, maps and services."""

from __future__ import annotations

import numpy as np
import pytest

from mem3d.synthetic import BoxScene, random_concepts
from mem3d.types import CameraIntrinsics
from mem3d.voxel_map import MapConfig, VoxelMap

from synthetic_room import DIM, room_boxes


@pytest.fixture(scope="session")
def concepts() -> np.ndarray:
    return random_concepts(8, DIM, seed=3)


@pytest.fixture(scope="session")
def camera() -> CameraIntrinsics:
    return CameraIntrinsics.from_fov(160, 120, 70.0)


@pytest.fixture
def scene() -> BoxScene:
    return BoxScene(room_boxes())


@pytest.fixture
def new_map() -> VoxelMap:
    return VoxelMap(MapConfig(feature_dim=DIM, feature_model="synthetic"))


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


