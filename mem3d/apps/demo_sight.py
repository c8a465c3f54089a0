"""Scoring only, for the demo's checks: did a tour's depth ever see through the old places of moved
objects? A memory can clear an old surface only where some frame shows the space beyond it; where
every frame's depth stops in front of it (another object now stands in the way), nothing can.

The watch reads the simulator's true depth, so it is ground truth and never reaches the memory. It
judges at the resolution the memory's carving receives (``FrameConfig.carve_downsample``, min-pooled),
and also counts full-resolution glimpses, so a report can say both.
"""

from __future__ import annotations

import numpy as np

from mem3d.integrate.carving import CarveConfig, free_space_mask
from mem3d.integrate.depth import downsample_min
from mem3d.types import Observation


class SightWatch:
    """A ``Source`` that forwards everything to ``source`` and, on each observation, counts the frames
    whose depth passed beyond each watched world point (metres, world frame)."""

    def __init__(self, source, points: np.ndarray, binning: int, carve: CarveConfig | None = None) -> None:
        self._source = source
        self.points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        self.binning = int(binning)
        self.carve = carve or CarveConfig()
        self.seen_through = np.zeros(len(self.points), dtype=np.int64)
        """Frames whose depth, binned as the memory's carving gets it, saw beyond each point."""
        self.glimpsed = np.zeros(len(self.points), dtype=np.int64)
        """Frames whose full-resolution depth saw beyond each point."""

    def __getattr__(self, name: str):
        return getattr(self._source, name)

    def observe(self) -> Observation:
        obs = self._source.observe()
        if len(self.points):
            T_camera_world = np.linalg.inv(obs.T_world_camera)
            self.glimpsed += free_space_mask(self.points, obs.depth, obs.intrinsics, T_camera_world, self.carve)
            binned = downsample_min(obs.depth, self.binning)
            self.seen_through += free_space_mask(self.points, binned, obs.intrinsics.binned(self.binning),
                                                 T_camera_world, self.carve)
        return obs
