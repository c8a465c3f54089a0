"""The encoder protocol shared by every feature encoder, and the dense-feature palette it returns.

Torch-free on purpose: importing this module (or the registry) never imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from mem3d.encoder import EncoderInfo
from mem3d.errors import InvalidInputError
from mem3d.types import Observation
from mem3d.validation import require_array, require_unit_rows
from perception.config import config_from_kwargs


@dataclass
class DenseFeatures:
    """Per-pixel features of one image, as a palette.

    Pixel (v, u) carries ``palette[index_map[v, u]]``; ``index_map == -1`` means "no feature" (e.g. an
    unlabelled pixel). The label path has one row per label in view; the CLIP path one per patch cell.
    """

    palette: np.ndarray
    """(K, D) float32, L2-normalised rows."""
    index_map: np.ndarray
    """(H, W) int32 row of ``palette`` per image pixel, -1 = no feature."""

    @property
    def feature_dim(self) -> int:
        return int(self.palette.shape[1])

    def validate(self, height: int, width: int) -> DenseFeatures:
        """Raise ``InvalidInputError`` unless shapes, dtypes, norms and index ranges are right."""
        palette = require_array("palette", self.palette, shape=(None, None), dtypes=(np.float32,))
        require_unit_rows("palette", palette)
        index = require_array("index_map", self.index_map, shape=(height, width), dtypes=(np.int32,))
        if index.size and (index.min() < -1 or index.max() >= palette.shape[0]):
            raise InvalidInputError(
                f"index_map must lie in [-1, {palette.shape[0]}), got [{index.min()}, {index.max()}]")
        return self


@runtime_checkable
class FeatureEncoder(Protocol):
    """Turns images into dense features and text into features of the same space."""

    @property
    def name(self) -> str:
        """Registry name."""
        ...

    @property
    def feature_dim(self) -> int:
        ...

    @property
    def info(self) -> EncoderInfo:
        ...

    @property
    def batch_size(self) -> int:
        """Observations ``encode_dense_batch`` encodes in one pass (1 = batching gains nothing)."""
        ...

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """(n, D) float32 L2-normalised features of ``texts``."""
        ...

    def encode_dense(self, obs: Observation) -> DenseFeatures:
        """Dense features of one observation, at its image resolution."""
        ...

    def encode_dense_batch(self, observations: Sequence[Observation]) -> list[DenseFeatures]:
        """``encode_dense`` of several observations (batched where the model allows)."""
        ...

    def encode_image_global(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """(n, D) float32 L2-normalised whole-image features of (H, W, 3) uint8 RGB images.

        Raises ``NotAvailableError`` for encoders without an image model (the label path)."""
        ...


class EncoderBase:
    """Plumbing shared by the encoders: options -> config, and the metadata properties.

    Subclasses set ``name`` and ``config_type``, take a config in ``__init__`` and set ``_info``."""

    name: str
    config_type: type
    _info: EncoderInfo

    @classmethod
    def from_options(cls, **options: object):
        """The encoder built from keyword options of its config dataclass (unknown keys -> error)."""
        return cls(config_from_kwargs(cls.config_type, cls.name, options))

    @property
    def info(self) -> EncoderInfo:
        return self._info

    @property
    def feature_dim(self) -> int:
        return self._info.feature_dim

    @property
    def batch_size(self) -> int:
        return 1

    def encode_dense(self, obs: Observation) -> DenseFeatures:
        return self.encode_dense_batch([obs])[0]

    def encode_dense_batch(self, observations: Sequence[Observation]) -> list[DenseFeatures]:
        raise NotImplementedError


def l2_normalise(rows: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows scaled to unit L2 norm, as float32 (all-zero rows stay zero)."""
    rows = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return rows / np.maximum(norms, eps)


def require_texts(texts: Sequence[str]) -> list[str]:
    """Texts to encode: a non-empty sequence of non-blank strings (raises ``InvalidInputError``)."""
    if isinstance(texts, str):
        raise InvalidInputError("encode_text takes a list of strings, got a single string")
    texts = list(texts)
    if not texts:
        raise InvalidInputError("encode_text needs at least one text")
    bad = [t for t in texts if not isinstance(t, str) or not t.strip()]
    if bad:
        raise InvalidInputError(f"texts must be non-empty strings, got {bad[:5]!r}")
    return texts


def require_rgb(name: str, image: object) -> np.ndarray:
    """An (H, W, 3) uint8 RGB image, or ``InvalidInputError``."""
    return require_array(name, image, shape=(None, None, 3), dtypes=(np.uint8,))
