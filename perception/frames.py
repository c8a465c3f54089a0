"""Observation -> ``FeatureFrame``: encode, keep valid pixels, sample, unproject, attach features."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mem3d.geometry import pixel_of_flat_index, transform_points, unproject
from mem3d.integrate.depth import downsample_min
from mem3d.types import CameraIntrinsics, FeatureFrame, Observation
from perception.config import FrameConfig
from perception.encoders.base import DenseFeatures, FeatureEncoder
from perception.sampling import sample_pixels, valid_pixels
from perception.timing import StageTimer, maybe_stage


def sampled_points(flat_index: np.ndarray, depth: np.ndarray, intrinsics: CameraIntrinsics,
                   T_world_camera: np.ndarray) -> np.ndarray:
    """(N, 3) float32 world points (metres) of the pixels ``flat_index`` (row-major) of a z-depth image."""
    u, v = pixel_of_flat_index(flat_index, depth.shape[1])
    camera = unproject(intrinsics, u, v, depth.ravel()[flat_index])
    return transform_points(T_world_camera, camera).astype(np.float32)


def frame_from_dense(obs: Observation, dense: DenseFeatures, config: FrameConfig, feature_model: str,
                     timer: StageTimer | None = None) -> FeatureFrame:
    """The feature frame of ``obs`` given its dense features (already validated observation).

    When no pixel qualifies (no feature in view, no trusted depth) the frame has no points and only
    carries the carving depth. The palette keeps only the rows in use."""
    depth = obs.depth
    with maybe_stage(timer, "sample"):
        valid = valid_pixels(depth, dense.index_map, config)
        rng = np.random.default_rng((config.seed, obs.obs_id & 0xFFFFFFFF))
        picks = sample_pixels(valid, config.n_samples, rng)
    with maybe_stage(timer, "unproject"):
        points = sampled_points(picks, depth, obs.intrinsics, obs.T_world_camera)
        colors = obs.rgb.reshape(-1, 3)[picks]
        rows = dense.index_map.ravel()[picks]
        used = np.flatnonzero(np.bincount(rows, minlength=dense.palette.shape[0]))
        remap = np.zeros(dense.palette.shape[0], dtype=np.int32)
        remap[used] = np.arange(used.size, dtype=np.int32)
        palette = dense.palette[used].astype(config.feature_dtype)
    with maybe_stage(timer, "carve_depth"):
        carve = downsample_min(depth, config.carve_downsample)
        picture = binned_rgb(obs.rgb, config.carve_downsample) if config.keyframe_rgb else None
    return FeatureFrame(points=points, colors=colors, features=palette, feature_index=remap[rows],
                        T_world_camera=np.asarray(obs.T_world_camera, dtype=np.float64),
                        stamp=float(obs.stamp), obs_id=int(obs.obs_id), depth=carve,
                        intrinsics=obs.intrinsics.binned(config.carve_downsample),
                        feature_model=feature_model, rgb=picture)


def binned_rgb(rgb: np.ndarray, factor: int) -> np.ndarray:
    """(H, W, 3) uint8 -> the mean of each ``factor`` x ``factor`` block (partial blocks dropped, as
    ``downsample_min`` drops them), uint8."""
    h, w = rgb.shape[0] // factor, rgb.shape[1] // factor
    # Sums of whole rows, then of columns, as slice additions in uint16 (exact for factor <= 16): numpy's
    # strided float mean over both block axes at once costs five to ten times as much at 640x480.
    dtype = np.uint16 if factor <= 16 else np.uint32
    rows = rgb[: h * factor, : w * factor].reshape(h, factor, w * factor * 3)
    row_sums = rows[:, 0].astype(dtype)
    for k in range(1, factor):
        row_sums += rows[:, k]
    columns = row_sums.reshape(h, w, factor, 3)
    sums = columns[:, :, 0].copy()
    for k in range(1, factor):
        sums += columns[:, :, k]
    return np.rint(sums / (factor * factor)).astype(np.uint8)


def build_feature_frames(observations: Sequence[Observation], encoder: FeatureEncoder,
                         config: FrameConfig | None = None, *, feature_dim: int | None = None,
                         timer: StageTimer | None = None) -> list[FeatureFrame]:
    """Feature frames of several observations; the encoder batches them where it can.

    ``feature_dim`` (the map's D), when given, is checked against the encoder first
    (``SchemaMismatchError``). Bad observations raise ``InvalidInputError``."""
    config = config or FrameConfig()
    if feature_dim is not None:
        encoder.info.require_compatible(feature_dim)
    with maybe_stage(timer, "validate"):
        for obs in observations:
            obs.validate()
    with maybe_stage(timer, "encode"):
        dense = encoder.encode_dense_batch(observations)
    return [frame_from_dense(obs, d, config, encoder.info.model_id, timer)
            for obs, d in zip(observations, dense)]


def build_feature_frame(obs: Observation, encoder: FeatureEncoder, config: FrameConfig | None = None,
                        *, feature_dim: int | None = None,
                        timer: StageTimer | None = None) -> FeatureFrame:
    """The ``FeatureFrame`` of one observation: up to ``config.n_samples`` world points (float32,
    metres) with colours and palette features, plus the block-minimum carving depth."""
    return build_feature_frames([obs], encoder, config, feature_dim=feature_dim, timer=timer)[0]
