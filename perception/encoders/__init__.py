"""Encoder registry: ``create_encoder(name, **options)``; ``parse_encoder_options`` turns command-line
``KEY=VALUE`` strings into those options (``mem3d perceive`` and ``mem3d serve`` share it).

Encoder modules are imported only when their encoder is created, so ``import perception`` and this
registry never import torch, open_clip or sentence-transformers.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from dataclasses import dataclass

from mem3d.config import options_from_strings
from mem3d.errors import InvalidInputError
from perception.config import LabelEncoderConfig, OpenClipConfig
from perception.encoders.base import DenseFeatures, EncoderInfo, FeatureEncoder


@dataclass(frozen=True)
class EncoderEntry:
    module: str
    factory: str
    config: type
    """The config dataclass whose fields are the encoder's options."""
    help: str


ENCODERS: dict[str, EncoderEntry] = {
    "label-minilm": EncoderEntry(
        "perception.encoders.label_embedding", "LabelEmbeddingEncoder", LabelEncoderConfig,
        "simulator ground truth: semantic labels -> all-MiniLM-L6-v2 text embeddings (384-d)"),
    "open-clip": EncoderEntry(
        "perception.encoders.open_clip_encoder", "OpenClipEncoder", OpenClipConfig,
        "real cameras: open_clip ViT, dense MaskCLIP patch features (512-d for ViT-B-32)"),
}


def available_encoders() -> tuple[str, ...]:
    """Names ``create_encoder`` accepts."""
    return tuple(ENCODERS)


def _entry(name: str) -> EncoderEntry:
    entry = ENCODERS.get(name)
    if entry is None:
        raise InvalidInputError(f"unknown encoder {name!r}; known encoders: {', '.join(ENCODERS)}")
    return entry


def create_encoder(name: str, **options: object) -> FeatureEncoder:
    """The encoder registered as ``name``, built from keyword options of its config dataclass
    (``LabelEncoderConfig`` or ``OpenClipConfig`` in ``perception.config``)."""
    entry = _entry(name)
    factory = getattr(importlib.import_module(entry.module), entry.factory)
    return factory.from_options(**options)


def parse_encoder_options(name: str, items: Sequence[str] | None) -> dict[str, object]:
    """Command-line ``KEY=VALUE`` strings -> keyword options of encoder ``name``, typed by its config
    (``["arch=ViT-B-16", "batch_size=8", "pretrained=/models/b16.bin"]``). Imports no model code."""
    return options_from_strings(_entry(name).config, items or ())


def add_encoder_option_argument(parser: argparse.ArgumentParser) -> None:
    """``--encoder-option KEY=VALUE`` (repeatable) into ``args.encoder_option``, for
    ``parse_encoder_options``."""
    parser.add_argument("--encoder-option", action="append", default=[], metavar="KEY=VALUE",
                        help="an option of the encoder's config, repeatable: arch=ViT-B-16, "
                             "pretrained=/models/vit-b-32.bin, device=cpu, batch_size=8 (perception.config)")


__all__ = ["ENCODERS", "DenseFeatures", "EncoderInfo", "FeatureEncoder", "available_encoders",
           "add_encoder_option_argument", "create_encoder", "parse_encoder_options"]
