"""Synthetic room scenes with analytic ground truth, and service helpers, shared by the core tests.

(Imported as ``tests.helpers.synthetic_room``; the pytest fixtures live in ``tests/fixtures/``.)"""

from __future__ import annotations

import numpy as np

from mem3d.geometry import look_at
from mem3d.synthetic import Box, BoxScene, FrameSpec, make_frame
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
             T_world_camera: np.ndarray = VIEW, spec: FrameSpec = FrameSpec(n_points=6000, carve_downsample=2),
             ) -> FeatureFrame:
    return make_frame(scene, concepts, camera, T_world_camera, obs_id=obs_id, stamp=10.0 + obs_id, spec=spec)


def observe(voxel_map: VoxelMap, scene: BoxScene, concepts: np.ndarray, camera: CameraIntrinsics,
            obs_ids: range, T_world_camera: np.ndarray = VIEW) -> None:
    for obs_id in obs_ids:
        voxel_map.update(frame_of(scene, concepts, camera, obs_id, T_world_camera))


def box_contains(box: Box, points: np.ndarray, margin: float) -> np.ndarray:
    return np.all((points >= box.min_corner - margin) & (points <= box.max_corner + margin), axis=1)


def client_of(service, **options):
    """A ``MemoryClient`` of a service started in this process (``start_service``)."""
    from mem3d.client import MemoryClient
    return MemoryClient.of_service(service.endpoints, **options)


def serve_process(store, *extra_args):
    """``mem3d serve`` of a synthetic map as a real process on free ports (a ``ServiceProcess``)."""
    from mem3d.apps.service_process import start_service_process
    from mem3d.voxel_map import MapConfig

    return start_service_process(store, map_config=MapConfig(feature_dim=DIM, feature_model="synthetic"),
                                 extra_args=extra_args)


class ConceptEncoder:
    """A real ``TextEncoder`` for the synthetic room: a concept's name ("mug", " Book ") embeds as its
    concept vector; ``embedded`` lists every text it was asked to embed."""

    NAMES = {"floor": FLOOR, "wall": WALL, "mug": MUG, "book": BOOK}

    def __init__(self, concepts: np.ndarray) -> None:
        from mem3d.encoder import EncoderInfo
        from mem3d.voxel_map import MapConfig

        self.concepts = concepts
        self.info = EncoderInfo("concepts", "synthetic-room", concepts.shape[1],
                                MapConfig(feature_dim=DIM).localize.threshold)
        self.embedded: list[str] = []

    def encode_text(self, texts):
        from mem3d.query.vocabulary import HOUSEHOLD_NAMES

        if tuple(texts) == HOUSEHOLD_NAMES:  # the common names, embedded once per model by query_terms
            rng = np.random.default_rng(0)  # names of nothing in the room: directions apart from the concepts
            names = rng.normal(size=(len(texts), self.concepts.shape[1]))
            names /= np.linalg.norm(names, axis=1, keepdims=True)
            for k, text in enumerate(texts):
                if text in self.NAMES:
                    names[k] = self.concepts[self.NAMES[text]]
            return names.astype(np.float32)
        self.embedded.extend(texts)
        return np.stack([self.concepts[self.NAMES[text.strip().lower()]] for text in texts]).astype(np.float32)


def ingest_then_kill(service, frames, kill_after: int, source: str = "camera") -> list[int]:
    """Stream ``frames`` to a ``serve_process`` service and SIGKILL it once ``kill_after`` are
    acknowledged; the obs_ids acknowledged before the kill."""
    import threading
    import time

    from mem3d.client import ServiceTimeoutError

    acked: list[int] = []

    def stream():
        with service.client() as client:
            for frame in frames:
                try:
                    acked.append(client.ingest(frame, source).obs_id)
                except ServiceTimeoutError:
                    return

    sender = threading.Thread(target=stream)
    sender.start()
    deadline = time.monotonic() + 120
    while len(acked) < kill_after:
        if not sender.is_alive() or time.monotonic() > deadline:
            service.kill()
            raise AssertionError(f"the stream stopped after {len(acked)} acknowledged frames")
        time.sleep(0.005)
    service.kill()
    sender.join()
    return acked
