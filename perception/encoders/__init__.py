"""The perception package's encoders, registered into the core registry (``mem3d.encoder``).

``register()`` is this package's ``mem3d.plugins`` entry point. Encoder modules are imported only
when their encoder is created, so registering never imports torch, open_clip or sentence-transformers.
"""

from __future__ import annotations

from mem3d.encoder import EncoderEntry, register_encoder
from perception.config import LabelEncoderConfig, OpenClipConfig
from perception.encoders.base import DenseFeatures, FeatureEncoder


def register() -> None:
    """Add ``label-minilm`` and ``open-clip`` to the core encoder registry."""
    register_encoder("label-minilm", EncoderEntry(
        "perception.encoders.label_embedding:LabelEmbeddingEncoder", LabelEncoderConfig,
        "simulator ground truth: semantic labels -> all-MiniLM-L6-v2 text embeddings (384-d)",
        text_factory="perception.encoders.minilm_numpy:MiniLMTextEncoder"))
    register_encoder("open-clip", EncoderEntry(
        "perception.encoders.open_clip_encoder:OpenClipEncoder", OpenClipConfig,
        "real cameras: open_clip ViT, dense MaskCLIP patch features (512-d for ViT-B-32)"))


register()  # importing the package registers too (a checkout used without installing it)

__all__ = ["DenseFeatures", "FeatureEncoder", "register"]
