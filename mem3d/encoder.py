"""The encoder protocol the core relies on, and the registry edge packages add their encoders to.

The service needs only text embeddings (``TextEncoder``); the perception node needs image features
too (``perception.encoders.base.FeatureEncoder`` extends this protocol). Encoders are registered by
name with a lazy factory (``"module:attribute"``) and the config dataclass whose fields are their
options, so listing encoders or parsing options never imports torch.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from mem3d.config import options_from_strings
from mem3d.errors import InvalidInputError, SchemaMismatchError
from mem3d.plugins import load_plugins


@dataclass(frozen=True)
class EncoderInfo:
    """What a map records about the encoder that made its features, and checks on every frame."""

    encoder: str
    """Registry name of the encoder ("label-minilm", "open-clip")."""
    model: str
    """Model and weights, e.g. "all-MiniLM-L6-v2" or "ViT-B-32/laion2b_s34b_b79k"."""
    feature_dim: int
    """Dimension D of every feature vector (image and text share it)."""
    match_threshold: float
    """Default cosine similarity a stored feature must reach to match a text query."""

    @property
    def model_id(self) -> str:
        """"<encoder>/<model>": the string stored as ``FeatureFrame.feature_model`` and in a map."""
        return f"{self.encoder}/{self.model}"

    def require_compatible(self, feature_dim: int, feature_model: str | None = None) -> None:
        """Raise ``SchemaMismatchError`` unless features of this encoder can go into that map."""
        if int(feature_dim) != self.feature_dim:
            raise SchemaMismatchError(
                f"encoder {self.model_id} makes {self.feature_dim}-d features, "
                f"but the map stores {feature_dim}-d features")
        if feature_model and feature_model != self.model_id:
            raise SchemaMismatchError(
                f"encoder {self.model_id} does not match the map's feature model {feature_model}")


@runtime_checkable
class TextEncoder(Protocol):
    """Embeds text into the feature space of a map (what the service needs to answer text queries)."""

    @property
    def info(self) -> EncoderInfo:
        ...

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """(n, D) float32 L2-normalised features of ``texts``."""
        ...


@dataclass(frozen=True)
class EncoderEntry:
    """How to build one registered encoder."""

    factory: str
    """``"module:attribute"`` of a class with ``from_options(**options)``; imported on creation only."""
    config: type
    """The config dataclass whose fields are the encoder's options."""
    help: str
    text_factory: str | None = None
    """``"module:attribute"`` of a lighter text-only ``TextEncoder`` giving the same text embeddings
    (for query tools that need no image model); None = the full encoder."""


_ENCODERS: dict[str, EncoderEntry] = {}


def register_encoder(name: str, entry: EncoderEntry) -> None:
    """Make ``create_encoder(name, ...)`` build ``entry`` (a second registration of a name replaces it)."""
    _ENCODERS[name] = entry


def available_encoders() -> tuple[str, ...]:
    """Names ``create_encoder`` accepts (installed plugins included)."""
    load_plugins()
    return tuple(_ENCODERS)


def encoder_entry(name: str) -> EncoderEntry:
    """The entry registered as ``name``, or ``InvalidInputError`` naming the known ones."""
    known = available_encoders()
    if name not in known:
        listed = ", ".join(known) or "none (is the perception package installed?)"
        raise InvalidInputError(f"unknown encoder {name!r}; known encoders: {listed}")
    return _ENCODERS[name]


def create_encoder(name: str, **options: object):
    """The encoder registered as ``name``, built from keyword options of its config dataclass."""
    return _build(encoder_entry(name).factory, options)


def create_text_encoder(name: str, **options: object) -> TextEncoder:
    """A text encoder for maps made by encoder ``name``: its lighter text-only half when it has one
    (``EncoderEntry.text_factory``, e.g. label-minilm's numpy MiniLM without torch), else the full encoder."""
    entry = encoder_entry(name)
    return _build(entry.text_factory or entry.factory, options)


def _build(factory: str, options: dict[str, object]):
    module, _, attribute = factory.partition(":")
    return getattr(importlib.import_module(module), attribute).from_options(**options)


def parse_encoder_options(name: str, items: Sequence[str] | None) -> dict[str, object]:
    """Command-line ``KEY=VALUE`` strings -> keyword options of encoder ``name``, typed by its config
    (``["arch=ViT-B-16", "batch_size=8", "pretrained=/models/b16.bin"]``). Imports no model code."""
    return options_from_strings(encoder_entry(name).config, items or ())


def add_encoder_option_argument(parser: argparse.ArgumentParser) -> None:
    """``--encoder-option KEY=VALUE`` (repeatable) into ``args.encoder_option``."""
    parser.add_argument("--encoder-option", action="append", default=[], metavar="KEY=VALUE",
                        help="an option of the encoder's config, repeatable: arch=ViT-B-16, "
                             "pretrained=/models/vit-b-32.bin, device=cpu, batch_size=8 (perception.config)")
