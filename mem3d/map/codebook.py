"""The map's feature codebook: centroids learned during integration, and the per-voxel error bounds
that make cosine search exact (``candidates``, used by ``mem3d.query.localization``).

Every voxel is assigned a codebook centroid c. For a unit query q, Cauchy-Schwarz gives
q.f = q.c + q.(f - c) <= q.c + |f - c|. A query scores the C centroids (C x D, tiny), forms that
upper bound for all voxels with one gather, and computes exact scores only for the voxels whose bound
reaches the threshold. The answer is exact: no voxel above the threshold is ever missed, whatever the
codebook; a good codebook only makes it faster.

Centroids are learned online from the feature palettes perception sends: a palette feature farther
than ``new_centroid_residual`` from every centroid starts a new one; the others pull their centroid
to the mean of its members (at 2, 4, 8... members, up to ``freeze_after``). A centroid that
moved since a voxel's residual r was measured is at most ``drift`` (its path length) farther away, so
each voxel stores ``slack = r - drift_then`` and the bound is (q.c + drift_now)[code] + slack: still
exact, still one gather per voxel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BOUND_SLACK = 1e-4  # float32 rounding in scores and residuals


@dataclass(frozen=True)
class IndexConfig:
    """Codebook size, when a feature starts a new centroid, and how long centroids keep learning."""

    max_centroids: int = 2048
    new_centroid_residual: float = 0.5
    freeze_after: int = 64


class FeatureCodebook:
    """Unit-norm centroids (C, D) float32, grown online up to ``max_centroids``."""

    PARTS = ("centroids", "sums", "counts", "drift")
    """The arrays of its state (``state``, ``restore``)."""

    def __init__(self, feature_dim: int, config: IndexConfig | None = None) -> None:
        self.config = config or IndexConfig()
        self.centroids = np.zeros((0, feature_dim), dtype=np.float32)
        self.sums = np.zeros((0, feature_dim), dtype=np.float32)
        """Sum of the member palette rows of each centroid (the centroid is its direction)."""
        self.counts = np.zeros(0, dtype=np.int64)
        self.drift = np.zeros(0, dtype=np.float32)
        """Total distance each centroid has moved since it was made."""
        self.version = 0
        """Counts the changes of ``centroids`` and ``drift`` (all a search reads), so that a copy can
        tell whether it is still current."""

    def __len__(self) -> int:
        return self.centroids.shape[0]

    def learn(self, palette: np.ndarray) -> np.ndarray:
        """Learn from a frame's palette (unit float32, (K, D)); return each row's nearest code."""
        codes, best = self._nearest_or_new(palette)
        self._update_means(palette, codes, best)
        return codes

    def _nearest_or_new(self, palette: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n_rows = palette.shape[0]
        if len(self):
            sims = palette @ self.centroids.T
            codes = sims.argmax(axis=1).astype(np.int32)
            best = sims[np.arange(n_rows), codes]
        else:
            codes = np.zeros(n_rows, dtype=np.int32)
            best = np.full(n_rows, -np.inf, dtype=np.float32)
        min_similarity = 1.0 - 0.5 * self.config.new_centroid_residual**2
        added: list[int] = []
        while len(self) + len(added) < self.config.max_centroids:
            worst = int(np.argmin(best))
            if best[worst] >= min_similarity:
                break
            added.append(worst)
            sims = palette @ palette[worst]
            closer = sims > best
            best[closer] = sims[closer]
            codes[closer] = len(self) + len(added) - 1
        if added:
            rows = palette[added]
            self.centroids = np.concatenate([self.centroids, rows]).astype(np.float32)
            self.sums = np.concatenate([self.sums, rows]).astype(np.float32)
            self.counts = np.concatenate([self.counts, np.ones(len(added), dtype=np.int64)])
            self.drift = np.concatenate([self.drift, np.zeros(len(added), dtype=np.float32)])
            self.version += 1
            best[added] = 2.0  # the seeds themselves are already counted
        return codes, best

    def _update_means(self, palette: np.ndarray, codes: np.ndarray, best: np.ndarray) -> None:
        """Accumulate members of learning centroids; move a centroid to its members' mean each time
        its count passes a power of two (few, large steps keep the recorded drift small)."""
        members = (best <= 1.0) & (self.counts[codes] < self.config.freeze_after)
        if not members.any():
            return
        before = self.counts.copy()
        for code, row in zip(codes[members].tolist(), palette[members]):  # in order, as np.add.at adds
            self.sums[code] += row  # (which takes 4x as long for the ~100 rows of a frame)
        self.counts += np.bincount(codes[members], minlength=self.counts.size)
        touched = np.unique(codes[members])
        crossed = np.floor(np.log2(self.counts[touched])) > np.floor(np.log2(before[touched]))
        moved = touched[crossed]
        if moved.size:
            new = self.sums[moved] / np.linalg.norm(self.sums[moved], axis=1, keepdims=True)
            self.drift[moved] += np.linalg.norm(new - self.centroids[moved], axis=1) + BOUND_SLACK
            self.centroids[moved] = new
            self.version += 1

    def stored_residuals(self, rounded: np.ndarray, scales: np.ndarray, squared_norms: np.ndarray,
                         codes: np.ndarray, buffer: np.ndarray | None = None) -> np.ndarray:
        """Exact |f - c| for int8-stored features f = ``rounded`` x ``scales`` (``squared_norms`` = |f|^2).

        ``buffer`` (V, D) float32, if given, receives the gathered centroids (saves an allocation).
        """
        centroids = np.take(self.centroids, codes, axis=0, out=buffer, mode="clip")  # "raise" buffers "out"
        dots = np.einsum("ij,ij->i", rounded, centroids) * scales
        return np.sqrt(np.maximum(squared_norms - 2.0 * dots + 1.0, 0.0))

    def slack(self, residuals: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """What a voxel stores for its bound: its residual now, less its centroid's drift so far."""
        return (residuals - self.drift[codes]).astype(np.float32)

    def candidates(self, codes: np.ndarray, slack: np.ndarray, query: np.ndarray,
                   threshold: float) -> np.ndarray:
        """Indices whose score upper bound reaches ``threshold`` for a unit ``query``, by a scan of
        every voxel (``mem3d.map.bound_pages`` finds the same ones, scanning fewer)."""
        if not len(self):
            return np.empty(0, dtype=np.int64)
        return np.flatnonzero(slack >= np.take(self.needed_slack(self.bound_scores(query), threshold), codes))

    def bound_scores(self, query: np.ndarray) -> np.ndarray:
        """(C,) q.c + drift per centroid: the part of every voxel's score bound that a query sets."""
        return self.centroids @ query + self.drift

    @staticmethod
    def needed_slack(bound_scores: np.ndarray, threshold: float) -> np.ndarray:
        """(C,) the slack a voxel of each code needs for its bound to reach ``threshold``:
        bound >= threshold  <=>  slack >= threshold - (q.c + drift)[code]."""
        return (threshold - BOUND_SLACK) - bound_scores

    def state(self) -> dict[str, np.ndarray]:
        """Everything needed to restore the codebook exactly (for saving)."""
        return {name: getattr(self, name) for name in self.PARTS}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Take copies of the arrays of ``state`` (as ``state`` returns them) as the codebook's."""
        self.centroids = np.array(state["centroids"], dtype=np.float32, order="C")
        self.sums = np.array(state["sums"], dtype=np.float32, order="C")
        self.counts = np.array(state["counts"], dtype=np.int64, order="C")
        self.drift = np.array(state["drift"], dtype=np.float32, order="C")
        self.version += 1
