"""The torch-free MiniLM text encoder gives the embeddings sentence-transformers gives, so maps built
by the label encoder are queried without loading torch."""

import subprocess
import sys

import numpy as np
import pytest

from mem3d.encoder import create_encoder, create_text_encoder
from mem3d.errors import InvalidInputError

TEXTS = ["white mug", "a coffee cup on the kitchen counter", "sofa", "notebook computer (laptop)", "TV",
         "garbage bin " * 40]  # the last one is long (truncated like sentence-transformers: 256 tokens)


def test_the_same_embeddings_as_sentence_transformers():
    text_encoder = create_text_encoder("label-minilm")
    assert type(text_encoder).__name__ == "MiniLMTextEncoder"
    torch_encoder = create_encoder("label-minilm", backend="sentence-transformers")
    assert text_encoder.info == torch_encoder.info
    ours, theirs = text_encoder.encode_text(TEXTS), torch_encoder.encode_text(TEXTS)
    assert ours.shape == theirs.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert np.all(np.sum(ours * theirs, axis=1) > 0.9999)


def test_the_forward_pass_stays_in_float32(monkeypatch):
    """Every layer works on float32 hidden states (a float64 scalar once promoted all but the first layer,
    which then cast the weights to float64 at each product, at about 1.6x the time)."""
    import perception.encoders.minilm_numpy as minilm

    seen, layer_norm = [], minilm._layer_norm
    monkeypatch.setattr(minilm, "_layer_norm", lambda x, *rest: seen.append(x.dtype) or layer_norm(x, *rest))
    create_text_encoder("label-minilm").encode_text(["white mug"])
    assert len(seen) == 13 and set(seen) == {np.dtype(np.float32)}


def test_bad_texts_are_refused():
    encoder = create_text_encoder("label-minilm")
    for bad in ("mug", [], ["  "]):
        with pytest.raises(InvalidInputError):
            encoder.encode_text(bad)


@pytest.mark.parametrize("factory", ["create_text_encoder", "create_encoder"])
def test_it_loads_without_torch(factory):
    """The text half, and the whole label encoder with its default numpy backend."""
    code = (f"import sys; from mem3d.encoder import {factory}; "
            f"{factory}('label-minilm').encode_text(['mug']); "
            "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_an_unknown_backend_is_refused_by_name():
    with pytest.raises(InvalidInputError, match="backend must be one of numpy, sentence-transformers"):
        create_encoder("label-minilm", backend="onnx")
