"""Synthetic posed RGB-D observations of a labelled box room (benchmarks and tests).

Ray casting comes from ``mem3d.synthetic`` and camera poses from ``mem3d.geometry``; this module adds
what a simulator adds on top: semantic ids with label texts and colour images, packed into
``Observation``s. World frame z up, metres; cameras in the OpenCV optical frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mem3d.geometry import look_at
from mem3d.synthetic import NO_HIT, Box, BoxScene
from mem3d.types import CameraIntrinsics, Observation


@dataclass
class LabelledRoom:
    """Boxes whose concept id is the semantic id, and the label text of each id."""

    scene: BoxScene
    labels: dict[int, str]


def household_room() -> LabelledRoom:
    """A 6 x 5 x 2.6 m living room (walls 0.1 m thick) with furniture and a mug on the table."""
    labels = {1: "floor", 2: "ceiling", 3: "wall", 4: "sofa", 5: "table", 6: "mug", 7: "chair",
              8: "bookshelf", 9: "television", 10: "potted plant", 11: "refrigerator"}
    wall = (200, 196, 180)
    boxes = [
        Box.between((-0.1, -0.1, -0.1), (6.1, 5.1, 0.0), 1, (150, 120, 90)),
        Box.between((-0.1, -0.1, 2.6), (6.1, 5.1, 2.7), 2, (235, 235, 230)),
        Box.between((-0.1, -0.1, 0.0), (0.0, 5.1, 2.6), 3, wall),
        Box.between((6.0, -0.1, 0.0), (6.1, 5.1, 2.6), 3, wall),
        Box.between((0.0, -0.1, 0.0), (6.0, 0.0, 2.6), 3, wall),
        Box.between((0.0, 5.0, 0.0), (6.0, 5.1, 2.6), 3, wall),
        Box.between((0.4, 0.3, 0.0), (2.4, 1.2, 0.8), 4, (70, 90, 150)),
        Box.between((2.8, 2.0, 0.0), (4.0, 2.8, 0.75), 5, (140, 95, 50)),
        Box.between((3.3, 2.3, 0.75), (3.4, 2.4, 0.85), 6, (220, 40, 40)),
        Box.between((4.3, 2.1, 0.0), (4.8, 2.6, 0.95), 7, (110, 70, 40)),
        Box.between((5.5, 0.5, 0.0), (5.95, 2.0, 1.9), 8, (160, 130, 90)),
        Box.between((0.05, 3.0, 0.9), (0.15, 4.2, 1.6), 9, (20, 20, 25)),
        Box.between((5.2, 4.3, 0.0), (5.6, 4.7, 1.1), 10, (40, 140, 50)),
        Box.between((1.0, 4.3, 0.0), (1.8, 4.95, 1.8), 11, (225, 225, 230)),
    ]
    return LabelledRoom(BoxScene(boxes), labels)


def render_observation(room: LabelledRoom, intrinsics: CameraIntrinsics,
                       T_world_camera: np.ndarray, stamp: float = 0.0,
                       obs_id: int = 0) -> Observation:
    """Exact z-depth (float32 m, 0 where no box is hit), semantic ids and flat colours of the room."""
    depth, box = room.scene.render(intrinsics, T_world_camera)
    hit = box != NO_HIT
    safe = np.where(hit, box, 0)
    semantic = np.where(hit, room.scene.concepts[safe], 0).astype(np.int32)
    rgb = np.where(hit[..., None], room.scene.colors[safe], 0).astype(np.uint8)
    return Observation(rgb=rgb, depth=depth, intrinsics=intrinsics, T_world_camera=T_world_camera,
                       stamp=float(stamp), obs_id=int(obs_id), semantic=semantic, labels=dict(room.labels))


def orbit_observations(room: LabelledRoom, intrinsics: CameraIntrinsics, n_frames: int,
                       height: float = 1.3) -> list[Observation]:
    """``n_frames`` views from the middle of the room, turning once around, looking slightly down."""
    eye = np.array([3.0, 2.5, height])
    observations = []
    for i in range(n_frames):
        yaw = 2.0 * np.pi * i / n_frames
        target = eye + np.array([np.cos(yaw), np.sin(yaw), -0.35])
        observations.append(render_observation(room, intrinsics, look_at(eye, target), stamp=0.1 * i, obs_id=i))
    return observations
