"""Building a memory service from its settings: the one place that loads a text encoder by name."""

from __future__ import annotations

import logging

from mem3d.encoder import TextEncoder, create_text_encoder
from mem3d.query.terms import name_embeddings
from mem3d.service.config import ServiceConfig
from mem3d.service.server import MemoryService
from mem3d.service.text_cache import TextEmbeddingCache

log = logging.getLogger("mem3d.service")


def load_text_encoder(config: ServiceConfig) -> TextEncoder | None:
    """The text encoder ``config`` names, from the core registry, behind a cache of
    ``config.text_cache_size`` texts; None if it names none. The service embeds text only, so it takes
    the encoder's light text-only half where it has one (label-minilm: numpy MiniLM, no torch: the
    service starts in about a second instead of six). The common names the decision rule checks
    (``mem3d.query.terms.name_embeddings``) are embedded here, before the service answers."""
    if config.encoder is None:
        return None
    log.info("loading text encoder %s", config.encoder)
    encoder = create_text_encoder(config.encoder, **config.encoder_options)
    name_embeddings(encoder)  # now, not in the request loop: the first text query would wait about 1 s
    return TextEmbeddingCache(encoder, config.text_cache_size) if config.text_cache_size else encoder


def create_service(config: ServiceConfig) -> MemoryService:
    """A ``MemoryService`` for ``config``, with the text encoder it names."""
    return MemoryService(config, encoder=load_text_encoder(config))
