"""Answers to the episodic requests (``mem3d.protocol.episodic``), from the service's episodic memory.

The ingest worker records frames into the memory under ``memory.lock``; each answer takes the same
lock, so it sees the memory exactly as after one recorded frame, and carries that frame's ``seq``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mem3d.episodic import queries
from mem3d.episodic.memory import EpisodicMemory
from mem3d.errors import InvalidInputError
from mem3d.protocol import episodic as messages
from mem3d.protocol.replies import Reply
from mem3d.protocol.requests import Request
from mem3d.protocol.wire import ErrorCode, ProtocolError

Embed = Callable[[str], tuple[np.ndarray, float]]
"""text -> (its embedding, the encoder's match threshold)."""


class EpisodicHandlers:
    def __init__(self, memory: EpisodicMemory, embed: Embed) -> None:
        self.memory, self.embed = memory, embed

    def table(self) -> dict[str, tuple[type[Request], Callable[[Any], Reply]]]:
        """Request type -> (request class, handler), for ``RequestHandlers``."""
        return {kind.TYPE: (kind, handler) for kind, handler in (
            (messages.WhereLastSeenRequest, self.where_last_seen), (messages.HistoryRequest, self.history),
            (messages.WhenSeenRequest, self.when_seen), (messages.ChangesSinceRequest, self.changes_since),
            (messages.WhatWasAtRequest, self.what_was_at), (messages.RouteRequest, self.route),
            (messages.PlacesRequest, self.places), (messages.KeyframeImageRequest, self.keyframe_image))}

    def _concept(self, request: messages.ConceptQuery) -> tuple[np.ndarray, float | None]:
        if (request.text is None) == (request.embedding is None):
            raise ProtocolError(ErrorCode.INVALID_INPUT, "give exactly one of 'text' or 'embedding'")
        if request.text is None:
            return np.asarray(request.embedding), request.threshold
        embedding, threshold = self.embed(request.text)
        return embedding, request.threshold if request.threshold is not None else threshold

    def where_last_seen(self, request: messages.WhereLastSeenRequest) -> messages.WhereLastSeenReply:
        query, threshold = self._concept(request)
        with self.memory.lock:
            sighting = queries.where_last_seen(self.memory, query, threshold)
            return messages.WhereLastSeenReply(found=sighting is not None, sighting=sighting, seq=self.memory.seq)

    def history(self, request: messages.HistoryRequest) -> messages.HistoryReply:
        query, threshold = self._concept(request)
        with self.memory.lock:
            instance, events = queries.history(self.memory, query, threshold)
            return messages.HistoryReply(found=instance >= 0, instance=instance, events=events, seq=self.memory.seq)

    def when_seen(self, request: messages.WhenSeenRequest) -> messages.WhenSeenReply:
        query, threshold = self._concept(request)
        with self.memory.lock:
            instance, intervals = queries.when_seen(self.memory, query, threshold)
            return messages.WhenSeenReply(found=instance >= 0, instance=instance, intervals=intervals,
                                          seq=self.memory.seq)

    def changes_since(self, request: messages.ChangesSinceRequest) -> messages.ChangesReply:
        with self.memory.lock:
            events = queries.changes_since(self.memory, request.stamp, request.place)
            return messages.ChangesReply(events=events, seq=self.memory.seq)

    def what_was_at(self, request: messages.WhatWasAtRequest) -> messages.WhatWasAtReply:
        if (request.region_min is None) != (request.region_max is None):
            raise InvalidInputError("a region needs both region_min and region_max")
        region = None if request.region_min is None else (np.array(request.region_min), np.array(request.region_max))
        with self.memory.lock:
            found = queries.what_was_at(self.memory, request.stamp, request.place, region)
            return messages.WhatWasAtReply(instances=found, seq=self.memory.seq)

    def route(self, request: messages.RouteRequest) -> messages.RouteReply:
        with self.memory.lock:
            result = queries.route(self.memory, request.from_place, request.to_place)
            return messages.RouteReply(found=result.found, places=result.places, length_m=result.length_m,
                                       seq=self.memory.seq)

    def places(self, request: messages.PlacesRequest) -> messages.PlacesReply:
        with self.memory.lock:
            places, edges = queries.places(self.memory)
            return messages.PlacesReply(places=places, edges=edges, seq=self.memory.seq)

    def keyframe_image(self, request: messages.KeyframeImageRequest) -> messages.KeyframeImageReply:
        with self.memory.lock:
            ref = queries.keyframe_ref(self.memory, request.keyframe)
            if ref is None:
                raise InvalidInputError(f"the memory keeps no keyframe {request.keyframe}")
            images = self.memory.keyframe_images(request.keyframe)
        return messages.KeyframeImageReply(keyframe=ref, rgb_jpeg=np.frombuffer(images.rgb_jpeg, dtype=np.uint8),
                                           depth_png=np.frombuffer(images.depth_png, dtype=np.uint8))
