"""Building a memory service from its settings: the one place that loads a text encoder by name."""

from __future__ import annotations

import logging

from mem3d.encoder import TextEncoder, create_encoder
from mem3d.service.config import ServiceConfig
from mem3d.service.server import MemoryService

log = logging.getLogger("mem3d.service")


def load_text_encoder(config: ServiceConfig) -> TextEncoder | None:
    """The text encoder ``config`` names, from the core registry (torch loads only now); None if none."""
    if config.encoder is None:
        return None
    log.info("loading text encoder %s", config.encoder)
    return create_encoder(config.encoder, **config.encoder_options)


def create_service(config: ServiceConfig) -> MemoryService:
    """A ``MemoryService`` for ``config``, with the text encoder it names."""
    return MemoryService(config, encoder=load_text_encoder(config))
