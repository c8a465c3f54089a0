"""Synthetic room scenes with analytic ground truth, and service helpers, shared by the core tests.

(Imported by name from the tests; pytest fixtures live in conftest.py.)"""

from __future__ import annotations

import numpy as np

from mem3d.synthetic import Box, BoxScene, FrameSpec, look_at, make_frame
from mem3d.types import CameraIntrinsics, FeatureFrame
from mem3d.voxel_map import VoxelMap

DIM = 32
FLOOR, WALL, MUG, BOOK, SIDE_WALL = range(5)
UNRELATED = 7  # a concept no box carries


def room_boxes() -> list[Box]:
    """A floor (top at z = 0), a wall at x = 3, a mug-sized box and a book-sized box on the floor."""
    return [
        Box((0.0, 0.0, -0.05), (10.0, 10.0, 0.1), FLOOR, (90, 90, 90)),
        Box((3.05, 0.0, 1.5), (0.1, 10.0, 3.0), WALL, (220, 220, 220)),
        Box((1.5, 0.0, 0.25), (0.3, 0.3, 0.5), MUG, (200, 20, 20)),
        Box((1.5, -1.0, 0.1), (0.4, 0.3, 0.2), BOOK, (20, 20, 200)),
    ]


VIEW = look_at((-1.0, 0.0, 1.2), (3.0, 0.0, 0.4))


def frame_of(scene: BoxScene, concepts: np.ndarray, camera: CameraIntrinsics, obs_id: int,
             pose: np.ndarray = VIEW, spec: FrameSpec = FrameSpec(n_points=6000, carve_downsample=2),
             ) -> FeatureFrame:
    return make_frame(scene, concepts, camera, pose, obs_id=obs_id, stamp=10.0 + obs_id, spec=spec)


def observe(voxel_map: VoxelMap, scene: BoxScene, concepts: np.ndarray, camera: CameraIntrinsics,
            obs_ids: range, pose: np.ndarray = VIEW) -> None:
    for obs_id in obs_ids:
        voxel_map.update(frame_of(scene, concepts, camera, obs_id, pose))


def box_contains(box: Box, points: np.ndarray, margin: float) -> np.ndarray:
    return np.all((points >= box.min_corner - margin) & (points <= box.max_corner + margin), axis=1)


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
