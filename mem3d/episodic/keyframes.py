"""Keyframes: the frames kept as evidence, chosen by novelty, with the instances they support.

A frame becomes a keyframe when its place has none yet, when the camera moved or turned enough since
the place's latest keyframe, when most of its voxels are new, or when it showed a change or an
instance without evidence yet. The images go to a ``KeyframeSink`` (files in a store, or memory);
the keyframe keeps its pose, intrinsics, stamp, place, the instances it shows and a small copy of its
depth (for the free-space test of ``instances``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from mem3d.episodic.config import KeyframeConfig
from mem3d.episodic.images import encode_depth, encode_rgb
from mem3d.episodic.results import KeyframeRef
from mem3d.errors import InvalidInputError, NotAvailableError
from mem3d.integrate.depth import downsample_min
from mem3d.types import CameraIntrinsics, FeatureFrame

log = logging.getLogger("mem3d.episodic")
TEST_DEPTH_BINNING = 1
"""The depth kept in memory is min-pooled by this factor (nearer surfaces win: never a false "free")."""


@dataclass(frozen=True)
class KeyframeImages:
    rgb_jpeg: bytes
    """b"" when the frame carried no image."""
    depth_png: bytes


class KeyframeSink(Protocol):
    """Where keyframe images are kept (``mem3d.io.episodic_store`` writes files)."""

    def put(self, keyframe_id: int, images: KeyframeImages) -> None: ...

    def get(self, keyframe_id: int) -> KeyframeImages: ...

    def drop(self, keyframe_id: int) -> None: ...


class MemorySink:
    """Keyframe images in a dict (evaluations, tests)."""

    def __init__(self) -> None:
        self.images: dict[int, KeyframeImages] = {}

    def put(self, keyframe_id: int, images: KeyframeImages) -> None:
        self.images[keyframe_id] = images

    def get(self, keyframe_id: int) -> KeyframeImages:
        if keyframe_id not in self.images:
            raise InvalidInputError(f"keyframe {keyframe_id} is not kept")
        return self.images[keyframe_id]

    def drop(self, keyframe_id: int) -> None:
        self.images.pop(keyframe_id, None)


@dataclass
class Keyframe:
    id: int
    obs_id: int
    stamp: float
    place: int
    T_world_camera: np.ndarray
    intrinsics: CameraIntrinsics
    """Of the stored images (the frame's carving depth)."""
    test_depth: np.ndarray
    """float16 metres, ``TEST_DEPTH_BINNING`` times smaller than the stored depth."""
    instances: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.test_intrinsics = self.intrinsics.binned(TEST_DEPTH_BINNING)
        self.T_camera_world = np.linalg.inv(self.T_world_camera)

    def ref(self) -> KeyframeRef:
        k = self.intrinsics
        return KeyframeRef(id=self.id, obs_id=self.obs_id, stamp=self.stamp, place=self.place,
                           T_world_camera=tuple(float(v) for v in self.T_world_camera.ravel()),
                           intrinsics=(float(k.fx), float(k.fy), float(k.cx), float(k.cy), int(k.width),
                                       int(k.height)))

    def sees_free(self, points: np.ndarray, margin: float) -> np.ndarray:
        """(N,) bool: this keyframe's depth reached beyond each world point (N, 3) by more than ``margin``
        (metres), i.e. it saw free space where the point is."""
        camera = points @ self.T_camera_world[:3, :3].T + self.T_camera_world[:3, 3]
        z = camera[:, 2]
        k = self.test_intrinsics
        safe = np.where(z > 0.05, z, 1.0)
        u = np.floor((k.fx * camera[:, 0] / safe + k.cx) + 0.5).astype(np.int64)
        v = np.floor((k.fy * camera[:, 1] / safe + k.cy) + 0.5).astype(np.int64)
        inside = (z > 0.05) & (u >= 0) & (v >= 0) & (u < self.test_depth.shape[1]) & (v < self.test_depth.shape[0])
        seen = np.zeros(points.shape[0], dtype=np.float64)
        seen[inside] = self.test_depth[v[inside], u[inside]]
        return inside & (seen > z + margin + 0.02 * z)


def is_novel(keyframes: list[Keyframe], T_world_camera: np.ndarray, n_added: int, n_voxels: int,
             config: KeyframeConfig) -> bool:
    """Whether a frame adds enough to its place's keyframes ``keyframes`` (newest last)."""
    if not keyframes:
        return True
    if n_voxels and n_added >= config.new_coverage_fraction * n_voxels:
        return True
    last = keyframes[-1].T_world_camera
    moved = float(np.linalg.norm(T_world_camera[:3, 3] - last[:3, 3]))
    cos = float(np.clip(np.dot(T_world_camera[:3, 2], last[:3, 2]), -1.0, 1.0))
    return moved >= config.min_translation_m or np.degrees(np.arccos(cos)) >= config.min_rotation_deg


_WARNED: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _WARNED:
        _WARNED.add(message)
        log.warning("%s: keyframes are kept without images", message)


def make_keyframe(keyframe_id: int, frame: FeatureFrame, place: int, config: KeyframeConfig
                  ) -> tuple[Keyframe, KeyframeImages]:
    """The keyframe of a frame that carries a carving depth, and its encoded images."""
    depth, rgb = frame.depth, frame.rgb
    try:
        images = KeyframeImages(encode_rgb(rgb, config.jpeg_quality) if rgb is not None else b"", encode_depth(depth))
    except NotAvailableError as error:  # a core-only install: the keyframe is kept without its images
        _warn_once(str(error))
        images = KeyframeImages(b"", b"")
    small = downsample_min(depth, TEST_DEPTH_BINNING).astype(np.float16)
    keyframe = Keyframe(keyframe_id, int(frame.obs_id), float(frame.stamp), place,
                        np.array(frame.T_world_camera, dtype=np.float64), frame.intrinsics, small)
    return keyframe, images
