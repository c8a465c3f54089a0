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
