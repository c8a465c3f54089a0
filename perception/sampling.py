"""Which pixels become map points: valid, trusted depth away from depth edges, spread over the image."""

from __future__ import annotations

import numpy as np

from perception.config import FrameConfig


def depth_edges(depth: np.ndarray, threshold: float) -> np.ndarray:
    """(H, W) bool: pixels whose depth jumps to a 4-neighbour by more than ``threshold`` times the
    nearer of the two depths. Only pairs of measured depths (finite, > 0) count as a jump."""
    with np.errstate(invalid="ignore"):
        z = np.where(np.isfinite(depth) & (depth > 0), depth, np.nan)  # NaN never compares true
        vertical = _jumps(z[1:], z[:-1], threshold)
        horizontal = _jumps(z[:, 1:], z[:, :-1], threshold)
    edges = np.zeros(depth.shape, dtype=bool)
    edges[1:] |= vertical
    edges[:-1] |= vertical
    edges[:, 1:] |= horizontal
    edges[:, :-1] |= horizontal
    return edges


def _jumps(a: np.ndarray, b: np.ndarray, threshold: float) -> np.ndarray:
    """``|a - b| > threshold * fmin(a, b)``, elementwise, in two reused buffers (no other temporaries)."""
    difference = np.subtract(a, b)
    np.abs(difference, out=difference)
    nearer = np.fmin(a, b)
    nearer *= threshold
    return np.greater(difference, nearer)


def trusted_depth(depth: np.ndarray, config: FrameConfig) -> np.ndarray:
    """(H, W) bool: finite depth within [min_depth, max_depth] metres (NaN compares false)."""
    with np.errstate(invalid="ignore"):
        return (depth >= config.min_depth) & (depth <= config.max_depth)


def valid_pixels(depth: np.ndarray, index_map: np.ndarray, config: FrameConfig) -> np.ndarray:
    """(H, W) bool: trusted depth, not a depth edge, and a feature (``index_map >= 0``)."""
    return trusted_depth(depth, config) & (index_map >= 0) & ~depth_edges(depth, config.edge_threshold)


def sample_pixels(valid: np.ndarray, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Flat indices (sorted, int64) of up to ``n_samples`` valid pixels, spread over the image.

    Jittered stratification in raster order: the M valid pixels are cut into ``n_samples`` runs of
    M / n_samples consecutive pixels and one random pixel is taken from each run, so every region of
    the image gets samples in proportion to its valid area, with no clumps and no repeats.
    """
    candidates = np.flatnonzero(valid)
    if candidates.size <= n_samples:
        return candidates
    step = candidates.size / n_samples
    picks = (np.arange(n_samples) + rng.random(n_samples)) * step
    return candidates[np.minimum(picks.astype(np.int64), candidates.size - 1)]
