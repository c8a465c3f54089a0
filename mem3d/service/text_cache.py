"""A least-recently-used cache of query text -> embedding, in front of a text encoder.

Embedding a query with a real model costs 25-500 ms; planners ask the same few questions again and
again ("where is the red mug?"), so the service remembers the last ``size`` embeddings, keyed by the
exact text (no normalisation: "Mug" and "mug " are different queries, as the encoder may see them).
``TextEmbeddingCache`` is itself a ``TextEncoder``: anything that takes an encoder can take it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from mem3d.encoder import EncoderInfo, TextEncoder
from mem3d.errors import InvalidInputError

DEFAULT_SIZE = 1024
"""Texts remembered by default: 1024 embeddings of D = 512 float32 take 2 MiB."""


class TextEmbeddingCache:
    """``encoder`` with the embeddings of its ``size`` most recently used texts kept (``size`` >= 1).

    Cached embeddings are read-only arrays; ``hits`` and ``misses`` count texts since creation. Not
    thread-safe: one thread uses it (the service's request loop).
    """

    def __init__(self, encoder: TextEncoder, size: int = DEFAULT_SIZE) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise InvalidInputError(f"the text cache size must be a positive integer, got {size!r}")
        self.encoder, self.size = encoder, size
        self._embeddings: OrderedDict[str, np.ndarray] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @property
    def info(self) -> EncoderInfo:
        return self.encoder.info

    def __len__(self) -> int:
        return len(self._embeddings)

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """(n, D) float32 L2-normalised features of ``texts`` (a new array)."""
        rows = self._rows(texts)
        return np.stack(rows) if rows else np.empty((0, self.info.feature_dim), np.float32)

    def embed(self, text: str) -> np.ndarray:
        """The (D,) embedding of one text, as cached (read-only, not copied)."""
        return self._rows([text])[0]

    def _rows(self, texts: Sequence[str]) -> list[np.ndarray]:
        """The embedding of each text; only uncached texts reach the encoder (in one batch), and each
        text's embedding becomes the most recently used."""
        missing = list(dict.fromkeys(text for text in texts if text not in self._embeddings))
        self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        fresh = dict(zip(missing, self._encode(missing))) if missing else {}
        rows = []
        for text in texts:
            row = fresh.get(text)
            if row is None:
                row = self._embeddings[text]
                self._embeddings.move_to_end(text)
            rows.append(row)
        for text, row in fresh.items():
            self._remember(text, row)
        return rows

    def _encode(self, texts: list[str]) -> list[np.ndarray]:
        rows = np.asarray(self.encoder.encode_text(texts), dtype=np.float32)
        if rows.shape != (len(texts), self.info.feature_dim):
            raise RuntimeError(f"text encoder {self.info.model_id} returned shape {rows.shape} "
                               f"for {len(texts)} texts of dimension {self.info.feature_dim}")
        out = []
        for row in rows:
            row = row.copy()
            row.setflags(write=False)
            out.append(row)
        return out

    def _remember(self, text: str, row: np.ndarray) -> None:
        self._embeddings[text] = row
        self._embeddings.move_to_end(text)
        while len(self._embeddings) > self.size:
            self._embeddings.popitem(last=False)
