"""``mem3d bench perception``: observation -> feature frame for each encoder, on synthetic 640x480 frames.

Figures are medians over frames, after one untimed warm-up pass over the distinct views (the label
path embeds each label once; later frames hit the cache, as in a running node).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace

import numpy as np
from tqdm import tqdm

from mem3d.encoder import create_encoder
from mem3d.errors import InvalidInputError
from mem3d.types import CameraIntrinsics, Observation
from perception.config import FrameConfig
from perception.encoders.base import FeatureEncoder
from perception.frames import build_feature_frame
from perception.synthetic import household_room, orbit_observations
from perception.timing import StageTimer


@dataclass(frozen=True)
class PerceptionBenchConfig:
    label_frames: int = 30
    """Timed frames of the label path."""
    clip_frames: int = 5
    """Timed frames of the open_clip path."""
    views: int = 4
    """Distinct synthetic views, cycled through."""
    width: int = 640
    height: int = 480
    hfov_deg: float = 90.0
    clip_arch: str = "ViT-B-32"
    """open_clip architecture, with random weights (no pretrained weights are needed to time it)."""
    clip_input_long_side: int = 448
    n_samples: int = 20_000
    """Points sampled per frame (``FrameConfig.n_samples``)."""

    def __post_init__(self) -> None:
        for name in ("label_frames", "clip_frames", "views", "width", "height", "clip_input_long_side", "n_samples"):
            if getattr(self, name) < 1:
                raise InvalidInputError(f"{name} must be >= 1, got {getattr(self, name)}")


def _frames(views: list[Observation], n: int) -> list[Observation]:
    """``n`` observations cycling through ``views`` with increasing ids (so each samples afresh)."""
    return [replace(views[i % len(views)], obs_id=i, stamp=0.1 * i) for i in range(n)]


def time_encoder(encoder: FeatureEncoder, views: list[Observation], n_frames: int,
                 frame_config: FrameConfig, show_progress: bool = False) -> dict[str, object]:
    """Median milliseconds per stage and frames per second of ``build_feature_frame``."""
    for obs in views:
        build_feature_frame(obs, encoder, frame_config)
    stages: dict[str, list[float]] = {}
    totals, points, palette = [], [], []
    for obs in tqdm(_frames(views, n_frames), desc=f"timing {encoder.name}", disable=not show_progress):
        timer = StageTimer()
        start = time.perf_counter()
        frame = build_feature_frame(obs, encoder, frame_config, timer=timer)
        totals.append(1000.0 * (time.perf_counter() - start))
        for name, ms in timer.milliseconds().items():
            stages.setdefault(name, []).append(ms)
        points.append(frame.n_points)
        palette.append(frame.features.shape[0])
    total = float(np.median(totals))
    breakdown = {name: round(float(np.median(ms)), 3) for name, ms in stages.items()}
    return {"encoder": encoder.name, "model": encoder.info.model_id, "feature_dim": encoder.feature_dim,
            "frames": n_frames, "frames_per_s": round(1000.0 / total, 2),
            "ms_per_frame": {**breakdown, "total": round(total, 3)},
            "points_per_frame": int(np.median(points)), "palette_rows_per_frame": int(np.median(palette))}


def run(config: PerceptionBenchConfig, show_progress: bool = True) -> dict[str, object]:
    """Times the label path and the open_clip path; returns a JSON-ready dict."""
    import torch

    intrinsics = CameraIntrinsics.from_fov(config.width, config.height, config.hfov_deg)
    views = orbit_observations(household_room(), intrinsics, config.views)
    frame_config = FrameConfig(n_samples=config.n_samples)
    result: dict[str, object] = {"image_size": [config.width, config.height],
                                 "samples_per_frame": config.n_samples,
                                 "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    start = time.perf_counter()
    label = create_encoder("label-minilm")
    result["label"] = {**time_encoder(label, views, config.label_frames, frame_config, show_progress),
                       "load_s": round(time.perf_counter() - start, 2)}
    start = time.perf_counter()
    clip = create_encoder("open-clip", arch=config.clip_arch, pretrained=None, random_weights=True,
                          device="cpu", input_long_side=config.clip_input_long_side)
    load_s = time.perf_counter() - start
    input_h, input_w = clip.input_size(config.height, config.width)
    result["open_clip"] = {**time_encoder(clip, views, config.clip_frames, frame_config, show_progress),
                           "architecture": config.clip_arch,
                           "weights": "random (no pretrained weights can be downloaded here; "
                                      "speed does not depend on the weights)",
                           "input_size": [input_w, input_h], "load_s": round(load_s, 2)}
    return result
