"""Perception: feature encoders and the observation -> feature-frame pipeline.

Importing this package is cheap: torch, open_clip and sentence-transformers are imported only when
an encoder that needs them is created (``create_encoder``).
"""

from perception.config import FrameConfig, LabelEncoderConfig, OpenClipConfig
from perception.encoders import available_encoders, create_encoder
from perception.encoders.base import DenseFeatures, EncoderInfo, FeatureEncoder
from perception.frames import build_feature_frame, build_feature_frames
from perception.timing import StageTimer

__all__ = ["DenseFeatures", "EncoderInfo", "FeatureEncoder", "FrameConfig", "LabelEncoderConfig",
           "OpenClipConfig", "StageTimer", "available_encoders",
           "build_feature_frame", "build_feature_frames", "create_encoder"]
