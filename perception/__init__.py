"""Perception: feature encoders and the observation -> feature-frame pipeline.

Importing this package is cheap: torch, open_clip and sentence-transformers are imported only when
an encoder that needs them is created (``mem3d.encoder.create_encoder``, where this package's
encoders are registered).
"""

from perception.config import FrameConfig, LabelEncoderConfig, OpenClipConfig
from perception.encoders.base import DenseFeatures, FeatureEncoder
from perception.frames import build_feature_frame, build_feature_frames
from perception.timing import StageTimer

__all__ = ["DenseFeatures", "FeatureEncoder", "FrameConfig", "LabelEncoderConfig", "OpenClipConfig", "StageTimer",
           "build_feature_frame", "build_feature_frames"]
