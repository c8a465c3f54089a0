"""The label encoder's text half without torch: all-MiniLM-L6-v2 run in numpy.

Answering a text query needs only the sentence embedding of the query, a few milliseconds of a
6-layer BERT. Loading it through sentence-transformers imports torch and transformers first (about
6 s on two cores); this module reads the same ``model.safetensors`` and ``tokenizer.json`` with the
light ``safetensors`` and ``tokenizers`` packages and runs the forward pass in numpy (about 0.3 s to
load), giving the embeddings sentence-transformers gives (cosine > 0.9999, float32 rounding apart),
so a map built by ``LabelEmbeddingEncoder`` is queried by this one. Text only: it has no image path.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mem3d.encoder import EncoderInfo
from mem3d.errors import InvalidInputError, NotAvailableError
from mem3d.threads import blas_threads
from perception.config import LabelEncoderConfig, config_from_kwargs
from perception.encoders.base import l2_normalise, require_texts
from perception.encoders.label_embedding import ENCODER_NAME, default_model_path, match_threshold

MAX_TOKENS = 256
"""sentence-transformers' ``max_seq_length`` for this model (sentence_bert_config.json)."""


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    return centred / np.sqrt((centred * centred).mean(-1, keepdims=True) + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x * Phi(x)."""
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


class NumpyBert:
    """A BERT encoder's forward pass (absolute positions, post-norm), from a safetensors state dict."""

    def __init__(self, weights: dict[str, np.ndarray], config: dict) -> None:
        self.w = {name: np.ascontiguousarray(array.T) if array.ndim == 2 and name.startswith("encoder.")
                  else array for name, array in weights.items()}
        """Linear weights stored transposed and contiguous (input x output): one BLAS call per layer."""
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.hidden = int(config["hidden_size"])

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(B, T) token ids and attention mask (1 = token) -> (B, T, H) float32 hidden states."""
        w, (b, t) = self.w, ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        bias = np.where(mask[:, None, None, :] > 0, 0.0, np.finfo(np.float32).min).astype(np.float32)
        head = self.hidden // self.heads
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def dense(name: str, y: np.ndarray, p: str = p) -> np.ndarray:
                flat = y.reshape(-1, y.shape[-1]) @ w[f"{p}{name}.weight"] + w[f"{p}{name}.bias"]
                return flat.reshape(*y.shape[:-1], -1)

            q, k, v = (dense(f"attention.self.{n}", x).reshape(b, t, self.heads, head).transpose(0, 2, 1, 3)
                       for n in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(head) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            context = (scores / scores.sum(-1, keepdims=True)) @ v
            context = context.transpose(0, 2, 1, 3).reshape(b, t, self.hidden)
            x = _layer_norm(x + dense("attention.output.dense", context), w[f"{p}attention.output.LayerNorm.weight"],
                            w[f"{p}attention.output.LayerNorm.bias"], self.eps)
            inner = _gelu(dense("intermediate.dense", x))
            x = _layer_norm(x + dense("output.dense", inner), w[f"{p}output.LayerNorm.weight"],
                            w[f"{p}output.LayerNorm.bias"], self.eps)
        return x.astype(np.float32, copy=False)


class MiniLMTextEncoder:
    """A ``TextEncoder`` for maps made by ``label-minilm``: mean-pooled, L2-normalised MiniLM embeddings."""

    def __init__(self, config: LabelEncoderConfig | None = None) -> None:
        self.config = config or LabelEncoderConfig()
        path = Path(self.config.model_path) if self.config.model_path else default_model_path()
        if not (path / "model.safetensors").is_file() or not (path / "tokenizer.json").is_file():
            raise InvalidInputError(f"no safetensors model with a tokenizer.json at {path} (another model may "
                                    "need the label encoder's backend='sentence-transformers')")
        try:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ModuleNotFoundError as error:
            raise NotAvailableError("the torch-free text encoder needs 'safetensors' and 'tokenizers' "
                                    "(pip install 'mem3d[perception]')") from error
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(MAX_TOKENS)
        config = json.loads((path / "config.json").read_text())
        self._bert = NumpyBert(load_file(str(path / "model.safetensors")), config)
        self._info = EncoderInfo(ENCODER_NAME, self.config.model_name, int(config["hidden_size"]),
                                 match_threshold(self.config))

    @classmethod
    def from_options(cls, **options: object) -> MiniLMTextEncoder:
        return cls(config_from_kwargs(LabelEncoderConfig, ENCODER_NAME, options))

    @property
    def info(self) -> EncoderInfo:
        return self._info

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """(n, D) float32 unit embeddings of ``texts``. Texts of the same token count run as one batch,
        so there is no padding to mix in, and a vocabulary of short names costs a few passes."""
        encodings = self._tokenizer.encode_batch(require_texts(texts))
        lengths = np.array([len(e.ids) for e in encodings])
        rows = np.empty((len(encodings), self._bert.hidden), dtype=np.float32)
        with blas_threads(1):  # products this small: 250 ms with 2 threads on busy shared cores, 15 with 1
            for length in np.unique(lengths):
                members = np.flatnonzero(lengths == length)
                ids = np.asarray([encodings[i].ids for i in members], dtype=np.int64)
                rows[members] = self._bert(ids, np.ones_like(ids)).mean(1)
        return l2_normalise(rows)
