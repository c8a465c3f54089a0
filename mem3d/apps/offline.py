"""What the offline tools (``mem3d query``, ``info``, ``export``, ``map``) share: a store opened
read-only with one-line errors, the text encoder of its map, the episodic evidence of an answer, and
the place graph as a layer of the top-down pictures.

Opening reads the current checkpoint and replays the acknowledged log records after it, in memory,
without the write lock and without writing (``mem3d.service.store_view.open_store_readonly``), so every
tool works on a store a live service holds. The map's schema (feature model, dimension) is read before
any encoder loads, so a map no encoder can query is refused at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mem3d.encoder import TextEncoder
from mem3d.errors import NotAvailableError, StoreError
from mem3d.types import Candidate


def require_store_dir(store: str | Path) -> Path:
    """``store`` as a path that can be a store directory; ``StoreError`` saying what to give instead."""
    path = Path(store)
    if path.is_file():
        raise StoreError(f"{path} is a file, not a store: give the directory that `mem3d serve --store` wrote")
    if not path.exists():
        raise StoreError(f"no store at {path}: give the directory that `mem3d serve --store` wrote")
    return path


def open_view(store: str | Path):
    """The store as a reader sees it (``StoreView``), or a one-line ``StoreError``."""
    from mem3d.service.store_view import open_store_readonly

    return open_store_readonly(require_store_dir(store))


def text_encoder_for(feature_model: str, feature_dim: int) -> TextEncoder:
    """The text encoder that embeds queries for a map of ``feature_model`` ("<encoder>/<model>"), its
    light text-only half where the encoder has one (label-minilm: numpy, no torch)."""
    from mem3d.encoder import create_text_encoder, encoder_entry

    name, _, _ = feature_model.partition("/")
    if not name:
        raise NotAvailableError("this map does not name its feature model, so text cannot be embedded "
                                "(query it with an embedding through the service instead)")
    encoder_entry(name)  # an unknown encoder is named before anything loads
    encoder = create_text_encoder(name)
    encoder.info.require_compatible(feature_dim, feature_model)
    return encoder


@dataclass(frozen=True)
class Evidence:
    """What supports a candidate beyond its voxels: the place it is in and the keyframe that shows it."""

    place: str | None
    keyframe: int | None


NO_EVIDENCE = Evidence(None, None)


EVIDENCE_RADIUS_M = 0.5
"""An episodic instance within this distance of a candidate's centroid supports it (its keyframe)."""


def evidence_for(view, candidate: Candidate) -> Evidence:
    """The place and keyframe of ``candidate`` in the store's episodic memory: the place nearest to its
    centroid, and the keyframe of the nearest instance within ``EVIDENCE_RADIUS_M`` (None: none)."""
    memory = getattr(view, "episodic", None)
    if memory is None or not len(memory.places):
        return NO_EVIDENCE
    centroid = np.asarray(candidate.centroid, dtype=np.float64)
    with memory.lock:
        place_id, _ = memory.places.nearest(centroid)
        place = memory.places.require(place_id).name if place_id >= 0 else None
        near = [(float(np.linalg.norm(inst.position - centroid)), inst) for inst in memory.instances.values()]
        near = [(d, inst) for d, inst in near if d <= EVIDENCE_RADIUS_M and inst.keyframe in memory.keyframes]
        keyframe = min(near, key=lambda pair: pair[0])[1].keyframe if near else None
    return Evidence(place, keyframe)


def place_layer(view):
    """The store's episodic places (numbered by id) and their travelled edges as a
    ``drawing.PlaceLayer``; None when the store has no places."""
    from mem3d.apps.drawing import PlaceLayer

    memory = getattr(view, "episodic", None)
    if memory is None or not len(memory.places):
        return None
    with memory.lock:
        places = list(memory.places.places)
        index = {place.id: i for i, place in enumerate(places)}
        edges = tuple((index[a], index[b]) for a, b in memory.places.edges if a in index and b in index)
        return PlaceLayer(np.array([p.center[:2] for p in places], dtype=np.float64), edges,
                          tuple(str(p.id) for p in places))
