"""Synthetic posed RGB-D observations of a labelled box room, with exact depth (benchmarks, tests).

Every surface is an axis-aligned box face, so depth and labels are analytic: ray casting with the
slab method, vectorised over all pixels. World frame z up, metres; cameras in the OpenCV optical frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mem3d.types import CameraIntrinsics, Observation


@dataclass(frozen=True)
class SceneBox:
    """A solid axis-aligned box (world metres) with a label and an RGB colour."""

    lo: tuple[float, float, float]
    hi: tuple[float, float, float]
    label: str
    color: tuple[int, int, int]


@dataclass(frozen=True)
class BoxRoom:
    """The inside of the box ``lo``-``hi`` (floor, ceiling, walls) holding solid ``objects``."""

    lo: tuple[float, float, float]
    hi: tuple[float, float, float]
    objects: tuple[SceneBox, ...]

    def labels(self) -> dict[int, str]:
        """Category id -> label text: 1 floor, 2 ceiling, 3 wall, then one id per distinct object label."""
        texts = ["floor", "ceiling", "wall"] + list(dict.fromkeys(b.label for b in self.objects))
        return {i + 1: text for i, text in enumerate(texts)}


ROOM_COLORS = {"floor": (150, 120, 90), "ceiling": (235, 235, 230), "wall": (200, 196, 180)}


def household_room() -> BoxRoom:
    """A 6 x 5 x 2.6 m living room with furniture and a mug on the table."""
    boxes = (
        SceneBox((0.4, 0.3, 0.0), (2.4, 1.2, 0.8), "sofa", (70, 90, 150)),
        SceneBox((2.8, 2.0, 0.0), (4.0, 2.8, 0.75), "table", (140, 95, 50)),
        SceneBox((3.3, 2.3, 0.75), (3.4, 2.4, 0.85), "mug", (220, 40, 40)),
        SceneBox((4.3, 2.1, 0.0), (4.8, 2.6, 0.95), "chair", (110, 70, 40)),
        SceneBox((5.5, 0.5, 0.0), (5.95, 2.0, 1.9), "bookshelf", (160, 130, 90)),
        SceneBox((0.05, 3.0, 0.9), (0.15, 4.2, 1.6), "television", (20, 20, 25)),
        SceneBox((5.2, 4.3, 0.0), (5.6, 4.7, 1.1), "potted plant", (40, 140, 50)),
        SceneBox((1.0, 4.3, 0.0), (1.8, 4.95, 1.8), "refrigerator", (225, 225, 230)),
    )
    return BoxRoom((0.0, 0.0, 0.0), (6.0, 5.0, 2.6), boxes)


def look_at(eye: np.ndarray, target: np.ndarray, up: tuple[float, float, float] = (0.0, 0.0, 1.0)
            ) -> np.ndarray:
    """(4, 4) float64 ``T_world_camera`` of an optical-frame camera at ``eye`` looking at ``target``."""
    eye, target = np.asarray(eye, dtype=np.float64), np.asarray(target, dtype=np.float64)
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    pose = np.eye(4)
    pose[:3, :3] = np.stack([right, down, forward], axis=1)
    pose[:3, 3] = eye
    return pose


def _pixel_rays(intrinsics: CameraIntrinsics, pose: np.ndarray) -> np.ndarray:
    """(H*W, 3) world ray directions scaled so the ray parameter equals z-depth."""
    v, u = np.mgrid[0:intrinsics.height, 0:intrinsics.width]
    camera = np.stack([(u.ravel() - intrinsics.cx) / intrinsics.fx,
                       (v.ravel() - intrinsics.cy) / intrinsics.fy, np.ones(u.size)], axis=1)
    return camera @ pose[:3, :3].T


def _slab_entry(origin: np.ndarray, rays: np.ndarray, lo: np.ndarray, hi: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Ray parameter where each ray enters the box (inf on a miss) and the axis of the entry face."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (lo - origin) / rays, (hi - origin) / rays
    near, far = np.fmin(t1, t2), np.fmax(t1, t2)
    t_near, t_far = near.max(axis=1), far.min(axis=1)
    hit = (t_near <= t_far) & (t_near > 0)
    return np.where(hit, t_near, np.inf), near.argmax(axis=1)


def render(room: BoxRoom, intrinsics: CameraIntrinsics, T_world_camera: np.ndarray,  # noqa: N803
           stamp: float = 0.0, obs_id: int = 0) -> Observation:
    """Exact z-depth (float32 m), semantic ids and flat-shaded RGB of ``room`` seen from the pose."""
    origin = T_world_camera[:3, 3]
    rays = _pixel_rays(intrinsics, T_world_camera)
    with np.errstate(divide="ignore"):
        exit_t = np.where(rays > 0, (np.array(room.hi) - origin) / rays, (np.array(room.lo) - origin) / rays)
    axis = exit_t.argmin(axis=1)
    depth = exit_t.min(axis=1)
    ids = {text: i for i, text in room.labels().items()}
    upward = rays[:, 2] > 0
    semantic = np.where(axis == 2, np.where(upward, ids["ceiling"], ids["floor"]), ids["wall"])
    palette = np.zeros((len(ids) + 1, 3))
    for text, color in ROOM_COLORS.items():
        palette[ids[text]] = color
    for box in room.objects:
        t, face = _slab_entry(origin, rays, np.array(box.lo), np.array(box.hi))
        closer = t < depth
        depth = np.where(closer, t, depth)
        axis = np.where(closer, face, axis)
        semantic = np.where(closer, ids[box.label], semantic)
        palette[ids[box.label]] = box.color
    shade = np.array([0.8, 0.9, 1.0])[axis]
    rgb = np.clip(palette[semantic] * shade[:, None], 0, 255).astype(np.uint8)
    shape = (intrinsics.height, intrinsics.width)
    return Observation(rgb=rgb.reshape(*shape, 3), depth=depth.astype(np.float32).reshape(shape),
                       intrinsics=intrinsics, T_world_camera=T_world_camera, stamp=float(stamp),
                       obs_id=int(obs_id), semantic=semantic.astype(np.int32).reshape(shape),
                       labels=room.labels())


def orbit_observations(room: BoxRoom, intrinsics: CameraIntrinsics, n_frames: int,
                       height: float = 1.3) -> list[Observation]:
    """``n_frames`` views from the room centre, turning once around, looking slightly down."""
    centre = (np.array(room.lo) + np.array(room.hi)) / 2.0
    eye = np.array([centre[0], centre[1], height])
    observations = []
    for i in range(n_frames):
        yaw = 2.0 * np.pi * i / n_frames
        target = eye + np.array([np.cos(yaw), np.sin(yaw), -0.35])
        observations.append(render(room, intrinsics, look_at(eye, target), stamp=0.1 * i, obs_id=i))
    return observations
