"""The reference baseline: re-voxelize the whole map plus the new points on every frame (DynaMem's way).

It keeps the map as arrays of voxels (position, colour, weight, float32 feature, as DynaMem does),
and per frame: removes every stored voxel that the depth shows to be free (projecting all of them, no culling), then
concatenates the survivors, as weighted points, with the frame's points and voxelizes everything
again with the same primitives as ``mem3d`` (one sort for the keys, ``bincount`` for positions and
colours, a scipy sparse product for features). It is as fast as those primitives allow; what it
cannot avoid is touching the whole map every frame.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from mem3d.integrate.carving import CarveConfig, free_space_mask
from mem3d.map import keys as voxel_keys
from mem3d.map.codec import normalize_rows
from mem3d.types import FeatureFrame
from mem3d.voxel_map import VoxelMap


class RebuildMap:
    """A voxel map rebuilt from scratch (all voxels + new points) for every frame."""

    def __init__(self, voxel_size: float, feature_dim: int, carve: CarveConfig | None = None) -> None:
        self.voxel_size = voxel_size
        self.carve_config = carve or CarveConfig()
        self.positions = np.zeros((0, 3), np.float32)
        self.colors = np.zeros((0, 3), np.uint8)
        self.weights = np.zeros(0, np.float32)
        self.features = np.zeros((0, feature_dim), np.float32)

    @classmethod
    def from_voxel_map(cls, voxel_map: VoxelMap) -> RebuildMap:
        """Start from the same voxels as ``voxel_map`` (features decoded to float32)."""
        baseline = cls(voxel_map.voxel_size, voxel_map.feature_dim, voxel_map.config.carve)
        voxels = voxel_map.voxels()
        baseline.positions, baseline.colors = voxels.positions, voxels.colors
        baseline.weights, baseline.features = voxels.weights, voxels.features
        return baseline

    def __len__(self) -> int:
        return self.weights.shape[0]

    def update(self, frame: FeatureFrame) -> None:
        if frame.depth is not None and len(self):
            T_camera_world = np.linalg.inv(frame.T_world_camera)
            free = free_space_mask(self.positions, frame.depth, frame.intrinsics, T_camera_world,
                                   self.carve_config)
            keep = ~free
            self.positions, self.colors = self.positions[keep], self.colors[keep]
            self.weights, self.features = self.weights[keep], self.features[keep]
        palette = normalize_rows(np.asarray(frame.features, dtype=np.float32))
        n_old, n_new = len(self), frame.n_points
        positions = np.concatenate([self.positions, frame.points])
        colors = np.concatenate([self.colors, frame.colors]).astype(np.float64)
        weights = np.concatenate([self.weights, np.ones(n_new, np.float32)])
        keys = voxel_keys.pack(voxel_keys.voxel_coords(positions, self.voxel_size))
        _, inverse = np.unique(keys, return_inverse=True)
        n_voxels = int(inverse.max()) + 1
        total = np.bincount(inverse, weights=weights, minlength=n_voxels)
        self.positions = np.stack([np.bincount(inverse, weights=positions[:, a] * weights, minlength=n_voxels)
                                   for a in range(3)], axis=1).astype(np.float32) / total[:, None].astype(np.float32)
        self.colors = np.rint(np.stack([np.bincount(inverse, weights=colors[:, a] * weights, minlength=n_voxels)
                                        for a in range(3)], axis=1) / total[:, None]).astype(np.uint8)
        # Old voxels carry their weighted feature, new points index the palette: one sparse product each.
        old = sp.csr_matrix((self.weights, (inverse[:n_old], np.arange(n_old))), shape=(n_voxels, n_old))
        new = sp.csr_matrix((np.ones(n_new, np.float32), (inverse[n_old:], frame.feature_index)),
                            shape=(n_voxels, palette.shape[0]))
        fused = np.asarray(old @ self.features, dtype=np.float32)
        fused += new @ palette
        self.features = normalize_rows(fused)
        self.weights = total.astype(np.float32)
