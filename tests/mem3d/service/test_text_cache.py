"""The text embedding cache: exact-text keys, least recently used dropped first, and a service behind it
that embeds a repeated query only once (over real sockets)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from mem3d.client import ServiceError
from mem3d.encoder import EncoderEntry, register_encoder
from mem3d.errors import InvalidInputError
from mem3d.service.config import ServiceConfig
from mem3d.service.factory import load_text_encoder
from mem3d.service.text_cache import TextEmbeddingCache
from mem3d.voxel_map import MapConfig
from tests.helpers.synthetic_room import BOOK, DIM, MUG, ConceptEncoder, client_of, frame_of


def test_only_uncached_texts_reach_the_encoder_and_the_least_recent_goes_first(concepts):
    encoder = ConceptEncoder(concepts)
    cache = TextEmbeddingCache(encoder, size=2)
    assert np.array_equal(cache.encode_text(["mug", "book", "mug"]), concepts[[MUG, BOOK, MUG]])
    assert encoder.embedded == ["mug", "book"] and (cache.hits, cache.misses) == (1, 2)
    cache.embed("mug")  # now the most recently used: "book" goes first
    cache.embed("floor")
    assert len(cache) == 2 and encoder.embedded == ["mug", "book", "floor"]
    cache.embed("mug")
    cache.embed("book")
    assert encoder.embedded == ["mug", "book", "floor", "book"] and (cache.hits, cache.misses) == (3, 4)


def test_keys_are_the_exact_text(concepts):
    encoder = ConceptEncoder(concepts)
    cache = TextEmbeddingCache(encoder)
    for text in ("mug", "Mug", "mug ", "mug"):
        assert np.array_equal(cache.embed(text), concepts[MUG])
    assert encoder.embedded == ["mug", "Mug", "mug "]


def test_cached_embeddings_cannot_be_changed_by_a_caller(concepts):
    cache = TextEmbeddingCache(ConceptEncoder(concepts))
    with pytest.raises(ValueError, match="read-only"):
        cache.embed("mug")[0] = 5.0
    batch = cache.encode_text(["mug"])
    batch[0, 0] = 5.0  # a new array: the cache keeps its own
    assert np.array_equal(cache.embed("mug"), concepts[MUG])
    assert cache.info == cache.encoder.info


@pytest.mark.parametrize("size", [0, -1, 2.5, True])
def test_the_size_is_a_positive_integer(concepts, size):
    with pytest.raises(InvalidInputError, match="cache size"):
        TextEmbeddingCache(ConceptEncoder(concepts), size=size)


def test_a_service_behind_the_cache_embeds_a_repeated_query_once(start_service, scene, concepts, camera):
    encoder = ConceptEncoder(concepts)
    service = start_service(map=MapConfig(feature_dim=DIM), text_encoder=TextEmbeddingCache(encoder, size=2))
    with client_of(service) as client:
        client.ingest(frame_of(scene, concepts, camera, 0), "cam")
        first = client.localize(text="mug")
        assert first.found and first == client.localize(embedding=concepts[MUG])
        assert all(client.localize(text="mug") == first for _ in range(5))
        assert encoder.embedded == ["mug"]
        client.localize(text="book")
        client.localize(text="floor")  # "mug" is the least recently used of three: dropped
        assert client.localize(text="mug") == first
        assert encoder.embedded == ["mug", "book", "floor", "mug"]
        with pytest.raises(ServiceError, match="blank"):
            client.localize(text="   ")  # refused before the cache or the encoder see it
        assert encoder.embedded == ["mug", "book", "floor", "mug"]
        stats = client.stats()
        assert (stats.text_cache_hits, stats.text_cache_misses) == (5, 4)


@dataclass(frozen=True)
class RegisteredConceptsConfig:
    seed: int = 0


class RegisteredConcepts(ConceptEncoder):
    """The synthetic room's encoder, built by name through the core registry."""

    @classmethod
    def from_options(cls, seed: int = 0) -> RegisteredConcepts:
        return cls(np.random.default_rng(seed).standard_normal((4, DIM)).astype(np.float32))


@pytest.mark.parametrize("size", [0, 3])
def test_the_service_factory_puts_the_configured_cache_in_front_of_the_encoder(tmp_path, size):
    register_encoder("test-concepts", EncoderEntry(f"{__name__}:RegisteredConcepts", RegisteredConceptsConfig,
                                                    "the synthetic room's concepts, for tests"))
    encoder = load_text_encoder(ServiceConfig(str(tmp_path / "store"), encoder="test-concepts",
                                              text_cache_size=size))
    assert isinstance(encoder, TextEmbeddingCache) == (size > 0)
    if size:
        assert encoder.size == size and isinstance(encoder.encoder, RegisteredConcepts)
    with pytest.raises(InvalidInputError, match="text_cache_size"):
        ServiceConfig(str(tmp_path / "store"), text_cache_size=-1)


def test_mem3d_serve_refuses_a_negative_cache_size(tmp_path, capsys):
    from mem3d.apps.cli import main

    assert main(["serve", "--store", str(tmp_path / "store"), "--text-cache-size", "-1"]) == 2
    assert "--text-cache-size must be >= 0" in capsys.readouterr().err
    assert not (tmp_path / "store").exists()
