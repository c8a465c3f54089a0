"""Exact cosine search over voxel features with a codebook and per-voxel error bounds.

Every voxel is assigned a codebook centroid c and stores its residual r = |f - c|. For a unit query q,
Cauchy-Schwarz gives q.f = q.c + q.(f - c) <= q.c + r. A query therefore scores the C centroids
(C x D, tiny), forms that upper bound for all voxels with one gather, and computes exact scores only
for the voxels whose bound reaches the threshold. The answer is exact: no voxel above the threshold
is ever missed, whatever the quality of the codebook; a good codebook only makes it faster.

Centroids are learned online from the feature palettes that perception sends (a new centroid for a
palette feature farther than ``new_centroid_residual`` from every centroid), so assigning voxels
costs O(voxels x D) per frame: a voxel's candidates are its current centroid and the centroid of the
palette feature that contributed most of its points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BOUND_SLACK = 1e-4  # float32 rounding in scores and residuals


@dataclass(frozen=True)
class IndexConfig:
    """Codebook size and how far a feature may lie from its centroid before a new one is made."""

    max_centroids: int = 2048
    new_centroid_residual: float = 0.5


class FeatureCodebook:
    """Unit-norm centroids (C, D) float32, grown online up to ``max_centroids``."""

    def __init__(self, feature_dim: int, config: IndexConfig | None = None) -> None:
        self.config = config or IndexConfig()
        self.centroids = np.zeros((0, feature_dim), dtype=np.float32)

    def __len__(self) -> int:
        return self.centroids.shape[0]

    def learn(self, palette: np.ndarray) -> np.ndarray:
        """Add centroids for novel palette rows (unit float32, (K, D)); return each row's nearest code."""
        n_rows = palette.shape[0]
        if len(self):
            sims = palette @ self.centroids.T
            codes = sims.argmax(axis=1).astype(np.int32)
            best = sims[np.arange(n_rows), codes]
        else:
            codes = np.zeros(n_rows, dtype=np.int32)
            best = np.full(n_rows, -np.inf, dtype=np.float32)
        min_similarity = 1.0 - 0.5 * self.config.new_centroid_residual**2
        added = []
        while len(self) + len(added) < self.config.max_centroids:
            worst = int(np.argmin(best))
            if best[worst] >= min_similarity:
                break
            added.append(palette[worst])
            sims = palette @ palette[worst]
            closer = sims > best
            best[closer] = sims[closer]
            codes[closer] = len(self) + len(added) - 1
        if added:
            self.centroids = np.concatenate([self.centroids, np.stack(added)]).astype(np.float32)
        return codes

    def residuals(self, features: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Exact |f - c| for rows of ``features`` and their ``codes`` ((V,) float32)."""
        diff = features - self.centroids[codes]
        return np.sqrt(np.einsum("ij,ij->i", diff, diff))

    def stored_residuals(self, rounded: np.ndarray, scales: np.ndarray, squared_norms: np.ndarray,
                         codes: np.ndarray, buffer: np.ndarray | None = None) -> np.ndarray:
        """Exact |f - c| for int8-stored features f = ``rounded`` x ``scales`` (``squared_norms`` = |f|^2).

        ``buffer`` (V, D) float32, if given, receives the gathered centroids (saves an allocation).
        """
        centroids = np.take(self.centroids, codes, axis=0, out=buffer, mode="clip")  # "raise" buffers "out"
        dots = np.einsum("ij,ij->i", rounded, centroids) * scales
        return np.sqrt(np.maximum(squared_norms - 2.0 * dots + 1.0, 0.0))

    def nearest(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest centroid and residual for each row (costs V x C x D; for rebuilds, not frames)."""
        if not len(self):
            raise ValueError("the codebook is empty")
        codes = np.empty(features.shape[0], dtype=np.int32)
        for start in range(0, features.shape[0], 8192):
            chunk = features[start:start + 8192]
            codes[start:start + 8192] = (chunk @ self.centroids.T).argmax(axis=1)
        return codes, self.residuals(features, codes)

    def candidates(self, codes: np.ndarray, residuals: np.ndarray, query: np.ndarray,
                   threshold: float) -> np.ndarray:
        """Indices whose score upper bound reaches ``threshold`` for a unit ``query``."""
        if not len(self):
            return np.empty(0, dtype=np.int64)
        bound = (self.centroids @ query)[codes]
        bound += residuals
        return np.flatnonzero(bound >= threshold - BOUND_SLACK)

    def set_centroids(self, centroids: np.ndarray) -> None:
        """Replace the centroids (used when loading a saved map)."""
        self.centroids = np.ascontiguousarray(centroids, dtype=np.float32)
