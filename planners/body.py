"""Bodies and memories for the navigator that live in this process (evaluations, tests, one-process
demos); across processes the memory is a ``mem3d.client.MemoryClient``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mem3d.encoder import TextEncoder
from mem3d.nav.traversability import OccupancyGrid, TraversabilityConfig, TraversabilityGrid
from mem3d.query.terms import QueryTerms, query_terms
from mem3d.source import Action, ActionResult, Source
from mem3d.types import FeatureFrame, LocalizeResult, MapUpdate, Observation
from mem3d.voxel_map import MapConfig, VoxelMap


class SensedBody:
    """A ``Source`` as the navigator's body: ``look`` observes and hands the view to ``perceive``, which
    returns once the memory has applied it (e.g. a perception node that waits for its acknowledgement)."""

    def __init__(self, source: Source, perceive: Callable[[Observation], None]) -> None:
        self.source, self.perceive = source, perceive

    def act(self, action: Action) -> ActionResult:
        return self.source.act(action)

    def look(self) -> Observation:
        obs = self.source.observe()
        self.perceive(obs)
        return obs


class InProcessMemory:
    """A voxel map and its traversability grid in this process, queried by text through ``encoder``:
    the navigator's ``Memory`` without a service. ``carve=False`` keeps everything ever seen (the
    static-map baseline)."""

    def __init__(self, map_config: MapConfig, encoder: TextEncoder,
                 traversability: TraversabilityConfig | None = None, carve: bool = True) -> None:
        self.map_config, self.encoder, self.carve = map_config, encoder, carve
        self.traversability_config = traversability
        self._embeddings: dict[str, tuple[np.ndarray, QueryTerms]] = {}
        """Text -> embedding: the navigator asks about the same goal after every move."""
        self.wipe()

    def wipe(self) -> None:
        """Forget everything (the no-memory baseline wipes at each goal); sequence numbers go on."""
        seq = getattr(self, "seq", 0)
        self.map = VoxelMap(self.map_config)
        self.grid = TraversabilityGrid(self.map_config.voxel_size, self.traversability_config)
        self.grid.seq = self.seq = seq

    def ingest(self, frame: FeatureFrame) -> MapUpdate:
        update = self.map.update(frame, carve=self.carve)
        self.seq += 1
        self.grid.apply(update, self.seq)
        return update

    def localize(self, text: str | None = None, embedding=None, top_k: int = 5,
                 threshold: float | None = None) -> LocalizeResult:
        terms = None
        if text is not None:  # decided as the service decides a text query (head noun, colours)
            if text not in self._embeddings:
                self._embeddings[text] = (self.encoder.encode_text([text])[0], query_terms(self.encoder, text))
            embedding, terms = self._embeddings[text]
            threshold = self.encoder.info.match_threshold if threshold is None else threshold
        return self.map.localize(np.asarray(embedding), top_k=top_k, threshold=threshold, terms=terms)

    def occupancy(self, region: tuple[float, float, float, float] | None = None,
                  since_seq: int = 0) -> OccupancyGrid:
        return self.grid.occupancy(region, since_seq)
