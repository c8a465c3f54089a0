"""A read-only copy of a voxel map that answers queries while the map itself takes frames.

The memory service applies frames to its map in a worker thread and answers queries from a
``MapReplica`` on its own thread. After each frame the worker takes the map's changes (copies of the
rows it wrote, ``VoxelMap.take_changes``) and the service applies them here between two queries: a
scatter of the frame's rows (a few milliseconds), never the frame's work. A query therefore sees the
map exactly as it was after some frame (``seq``), never half of one.

A replica holds the voxel columns (reserved like the map's, ``mem3d.map.store``) and the codebook, not
the spatial hash: it cannot take frames itself.
"""

from __future__ import annotations

import numpy as np

from mem3d.map.codebook import FeatureCodebook
from mem3d.map.store import VoxelStore
from mem3d.query.localization import check_query, localize, with_threshold
from mem3d.query.terms import QueryTerms
from mem3d.types import LocalizeResult
from mem3d.voxel_map import MapChanges, MapConfig, MapContents


class MapReplica:
    """The voxels and search state of a map as of its frame ``seq``; follows it through ``apply``."""

    def __init__(self, contents: MapContents, seq: int = 0) -> None:
        """A replica holding ``contents`` (copied), the map as of frame ``seq``."""
        self.config: MapConfig = contents.config
        self.store = VoxelStore(self.config.feature_dim)
        self.codebook = FeatureCodebook(self.config.feature_dim, self.config.index)
        self.seq = seq
        """Write-ahead log sequence number of the newest frame the replica reflects (0 = none)."""
        n = contents.n_voxels
        self.store.assign(n, np.arange(n), contents.columns)
        self.codebook.restore(contents.codebook)

    def __len__(self) -> int:
        return self.store.n

    def apply(self, changes: MapChanges, seq: int) -> None:
        """Bring the replica to the map's state after frame ``seq`` (``changes`` were taken then)."""
        self.store.assign(changes.n_voxels, changes.slots, changes.rows)
        if changes.codebook is not None:
            self.codebook.restore(changes.codebook)
        self.seq = seq

    def localize(self, query: np.ndarray, top_k: int = 5, threshold: float | None = None,
                 terms: QueryTerms | None = None) -> LocalizeResult:
        """As ``VoxelMap.localize``, on the replica's state."""
        unit_query = check_query(query, self.config.feature_dim)
        return localize(self.store, self.config.voxel_size, self.codebook, unit_query, top_k,
                        with_threshold(self.config.localize, threshold), terms)

    def contents(self) -> MapContents:
        """Views of the replica's voxels and codebook (valid until the next ``apply``)."""
        return MapContents(self.config, self.store.live_columns(), self.codebook.state())
