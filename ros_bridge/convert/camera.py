"""``sensor_msgs/CameraInfo`` fields <-> ``CameraIntrinsics``.

The pinhole model is read from ``k`` (fx, fy, cx, cy in pixels), for images of ``width`` x ``height``.
Distortion: mem3d's camera model is an undistorted pinhole. All-zero coefficients (any model name,
as RealSense colour and aligned-depth streams publish) are accepted; non-zero ones raise
``UnsupportedDistortionError`` unless ``ignore_distortion`` is set, because unprojecting a distorted
image with a pinhole model misplaces points by centimetres at the borders: subscribe to rectified
images (``image_rect``) or rectify them first (``image_proc``). Binning and ROI are not supported
(binning > 1 or a non-full ROI raise). ROS 1 bags spell the arrays ``D``, ``K``, ``R``, ``P``; both
spellings are read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mem3d.errors import InvalidInputError
from mem3d.types import CameraIntrinsics

DISTORTION_EPSILON = 1e-9


class UnsupportedDistortionError(InvalidInputError):
    """The camera has lens distortion that the pinhole model cannot represent."""


@dataclass(frozen=True)
class CameraInfoFields:
    """The fields of a ``sensor_msgs/CameraInfo`` (header excluded) for a pinhole camera."""

    height: int
    width: int
    distortion_model: str
    d: tuple[float, ...]
    k: tuple[float, ...]
    """Row-major 3x3 camera matrix."""
    r: tuple[float, ...]
    """Row-major 3x3 rectification rotation (identity)."""
    p: tuple[float, ...]
    """Row-major 3x4 projection matrix."""


def _field(msg, name: str):
    value = getattr(msg, name, None)
    return getattr(msg, name.upper()) if value is None else value


def has_distortion(msg) -> bool:
    """True when any distortion coefficient is non-zero."""
    d = np.asarray(_field(msg, "d"), dtype=np.float64)
    return bool(d.size and np.abs(d).max() > DISTORTION_EPSILON)


def camera_info_to_intrinsics(msg, ignore_distortion: bool = False) -> CameraIntrinsics:
    """The pinhole intrinsics of a CameraInfo-like message (see the module docstring for distortion)."""
    k = np.asarray(_field(msg, "k"), dtype=np.float64)
    if k.size != 9 or k[0] <= 0 or k[4] <= 0:
        raise InvalidInputError(f"camera_info has no valid camera matrix k (got {k.tolist()}): is the camera "
                                "calibrated?")
    if not ignore_distortion and has_distortion(msg):
        raise UnsupportedDistortionError(
            f"camera_info has {msg.distortion_model!r} distortion {np.round(_field(msg, 'd'), 4).tolist()}: "
            "mem3d needs rectified images (subscribe to image_rect or run image_proc), or ignore_distortion")
    if max(int(getattr(msg, "binning_x", 0) or 0), int(getattr(msg, "binning_y", 0) or 0)) > 1:
        raise InvalidInputError("camera_info with binning > 1 is not supported")
    roi = getattr(msg, "roi", None)
    if roi is not None and int(roi.width) and (int(roi.width), int(roi.height)) != (int(msg.width), int(msg.height)):
        raise InvalidInputError("camera_info with a region of interest is not supported")
    return CameraIntrinsics(float(k[0]), float(k[4]), float(k[2]), float(k[5]), int(msg.width), int(msg.height))


def intrinsics_to_camera_info(intrinsics: CameraIntrinsics) -> CameraInfoFields:
    """The CameraInfo fields of an undistorted pinhole camera (``plumb_bob`` with zero coefficients)."""
    fx, fy, cx, cy = intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy
    return CameraInfoFields(intrinsics.height, intrinsics.width, "plumb_bob", (0.0,) * 5,
                            (fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0), (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0),
                            (fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0))
