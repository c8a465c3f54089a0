"""One synchronised set of camera messages -> an ``Observation`` (bag ingestion and the live node)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mem3d.errors import InvalidInputError
from mem3d.types import Observation
from ros_bridge.convert.camera import camera_info_to_intrinsics
from ros_bridge.convert.images import decode_color, decode_depth, decode_ids


def stamp_of(msg) -> float:
    """Header stamp in seconds (ROS 1 ``secs``/``nsecs`` or ROS 2 ``sec``/``nanosec`` spellings)."""
    stamp = msg.header.stamp
    sec = getattr(stamp, "sec", getattr(stamp, "secs", 0))
    nanosec = getattr(stamp, "nanosec", getattr(stamp, "nsecs", 0))
    return float(sec) + float(nanosec) * 1e-9


LOOKUP_LIMIT = 1 << 20
"""Label ids below this are kept or zeroed through one lookup table (larger ones: ``np.isin``)."""


RANGE_CHECK_LIMIT = 4096
"""Id ranges up to this long are checked against the label table without touching the pixels again."""


def labelled_ids(ids: np.ndarray, labels: Mapping[int, str]) -> np.ndarray:
    """(H, W) int32: ``ids`` where ``labels`` names the id, else 0 (unlabelled). When every id in the
    image's range is labelled (the usual case) that is ``ids`` itself, not a copy."""
    keys = np.fromiter(labels, np.int64, len(labels))
    if not keys.size:
        return np.zeros(ids.shape, np.int32)
    ids = ids.astype(np.int32, copy=False)
    low, high = (int(ids.min()), int(ids.max())) if ids.size else (0, 0)
    if high - low < RANGE_CHECK_LIMIT and set(range(low, high + 1)) - {0} <= labels.keys():
        return ids
    high = int(keys.max())
    if keys.min() < 0 or high >= LOOKUP_LIMIT:
        return np.where(np.isin(ids, keys), ids, 0).astype(np.int32)
    table = np.zeros(high + 2, np.int32)  # id -> itself when labelled; the last entry (0) takes all others
    table[keys] = keys
    return table[np.minimum(ids.view(np.uint32), high + 1)]


def make_observation(color, depth, info, T_world_camera: np.ndarray, obs_id: int, semantic=None,
                     labels: Mapping[int, str] | None = None, ignore_distortion: bool = False) -> Observation:
    """The observation of a colour image, its aligned depth, camera_info and optional segmentation,
    stamped with the colour image's stamp. Segment ids without a class in ``labels`` become 0
    (unlabelled). ``InvalidInputError`` (or a subclass naming the encoding) for what cannot be used."""
    if info is None:
        raise InvalidInputError("no camera_info received yet: is the camera_info topic right?")
    intrinsics = camera_info_to_intrinsics(info, ignore_distortion)
    rgb, metres = decode_color(color), decode_depth(depth)
    size = (intrinsics.height, intrinsics.width)
    if rgb.shape[:2] != size or metres.shape != size:
        raise InvalidInputError(f"colour {rgb.shape[1]}x{rgb.shape[0]} and depth {metres.shape[1]}x{metres.shape[0]} "
                                f"must both match camera_info {size[1]}x{size[0]}: use depth aligned to the colour "
                                "image (aligned_depth_to_color)")
    ids, labels = None, dict(labels or {})
    if semantic is not None:
        ids = decode_ids(semantic)
        if ids.shape != size:
            raise InvalidInputError("the segmentation image must have the colour image's size")
        ids = labelled_ids(ids, labels)
    return Observation(rgb=rgb, depth=metres, intrinsics=intrinsics, T_world_camera=np.asarray(T_world_camera),
                       stamp=stamp_of(color), obs_id=obs_id, semantic=ids,
                       labels=labels if ids is not None else {}).validate()
