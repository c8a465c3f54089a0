"""Encoder registry: ``create_encoder(name, **options)``.

Encoder modules are imported only when their encoder is created, so ``import perception`` and this
registry never import torch, open_clip or sentence-transformers.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from mem3d.errors import InvalidInputError
from perception.encoders.base import DenseFeatures, EncoderInfo, FeatureEncoder


@dataclass(frozen=True)
class EncoderEntry:
    module: str
    factory: str
    help: str


ENCODERS: dict[str, EncoderEntry] = {
    "label-minilm": EncoderEntry(
        "perception.encoders.label_embedding", "LabelEmbeddingEncoder",
        "simulator ground truth: semantic labels -> all-MiniLM-L6-v2 text embeddings (384-d)"),
    "open-clip": EncoderEntry(
        "perception.encoders.open_clip_encoder", "OpenClipEncoder",
        "real cameras: open_clip ViT, dense MaskCLIP patch features (512-d for ViT-B-32)"),
}


def available_encoders() -> tuple[str, ...]:
    """Names ``create_encoder`` accepts."""
    return tuple(ENCODERS)


def create_encoder(name: str, **options: object) -> FeatureEncoder:
    """The encoder registered as ``name``, built from keyword options of its config dataclass
    (``LabelEncoderConfig`` or ``OpenClipConfig`` in ``perception.config``)."""
    entry = ENCODERS.get(name)
    if entry is None:
        raise InvalidInputError(f"unknown encoder {name!r}; known encoders: {', '.join(ENCODERS)}")
    factory = getattr(importlib.import_module(entry.module), entry.factory)
    return factory.from_options(**options)


__all__ = ["ENCODERS", "DenseFeatures", "EncoderInfo", "FeatureEncoder", "available_encoders",
           "create_encoder"]
