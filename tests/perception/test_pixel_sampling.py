"""Pixel validity and sampling: never an invalid depth, never an edge, spread over the image."""

from __future__ import annotations

import numpy as np
import pytest

from perception.config import FrameConfig
from perception.sampling import depth_edges, sample_pixels, valid_pixels


def adversarial_depth(seed: int, shape: tuple[int, int] = (120, 160)) -> np.ndarray:
    """Smooth depth with steps, holes (0, NaN, +-inf, negative) and out-of-range patches."""
    rng = np.random.default_rng(seed)
    v, u = np.mgrid[0:shape[0], 0:shape[1]]
    depth = (1.5 + 0.004 * u + 0.002 * v).astype(np.float32)
    depth[:, 70:] += 1.0                      # a vertical depth step
    depth[60:, :] *= 1.3                      # a horizontal one
    bad = rng.random(shape)
    depth[bad < 0.04] = 0.0
    depth[(bad >= 0.04) & (bad < 0.06)] = np.nan
    depth[(bad >= 0.06) & (bad < 0.07)] = np.inf
    depth[(bad >= 0.07) & (bad < 0.08)] = -np.inf
    depth[(bad >= 0.08) & (bad < 0.09)] = -1.0
    depth[10:20, 10:30] = 0.05                # too near
    depth[90:100, 100:140] = 9.0              # too far
    return depth


def is_edge(depth: np.ndarray, v: int, u: int, threshold: float) -> bool:
    """Reference check, one pixel at a time: a jump to a measured 4-neighbour above threshold."""
    z = depth[v, u]
    for dv, du in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        nv, nu = v + dv, u + du
        if 0 <= nv < depth.shape[0] and 0 <= nu < depth.shape[1]:
            n = depth[nv, nu]
            if np.isfinite(n) and n > 0 and abs(z - n) > threshold * min(z, n):
                return True
    return False


@pytest.mark.parametrize("seed", range(5))
def test_samples_never_have_invalid_depth_or_sit_on_edges(seed):
    config = FrameConfig(n_samples=1500, min_depth=0.2, max_depth=5.0, edge_threshold=0.05)
    depth = adversarial_depth(seed)
    index_map = np.where(np.random.default_rng(seed + 100).random(depth.shape) < 0.1, -1, 3).astype(np.int32)
    picks = sample_pixels(valid_pixels(depth, index_map, config), config.n_samples,
                          np.random.default_rng(seed))
    assert picks.size == config.n_samples
    v, u = np.divmod(picks, depth.shape[1])
    z = depth[v, u]
    assert np.isfinite(z).all()
    assert (z >= config.min_depth).all() and (z <= config.max_depth).all()
    assert (index_map[v, u] >= 0).all()
    assert not any(is_edge(depth, a, b, config.edge_threshold) for a, b in zip(v, u))


def test_depth_edges_mark_both_sides_of_a_step_only():
    depth = np.full((20, 30), 2.0, dtype=np.float32)
    depth[:, 15:] = 3.0
    depth[5, 5] = 0.0  # a hole is no edge
    edges = depth_edges(depth, 0.05)
    assert np.array_equal(np.flatnonzero(edges.any(axis=0)), [14, 15])
    assert edges[:, 14].all() and edges[:, 15].all()


def test_a_steep_but_continuous_floor_is_not_an_edge():
    rows = np.arange(240, dtype=np.float32)
    depth = np.repeat((1.0 + 0.02 * rows)[:, None], 320, axis=1)  # < 2 % per pixel
    assert not depth_edges(depth, 0.05).any()


def test_samples_are_distinct_sorted_and_capped_by_the_valid_count():
    valid = np.zeros((50, 60), dtype=bool)
    valid[10:20, 5:25] = True
    picks = sample_pixels(valid, 10_000, np.random.default_rng(0))
    assert np.array_equal(picks, np.flatnonzero(valid))
    picks = sample_pixels(valid, 50, np.random.default_rng(0))
    assert picks.size == 50 and np.all(np.diff(picks) > 0) and valid.ravel()[picks].all()


def test_samples_spread_over_the_image():
    valid = np.ones((480, 640), dtype=bool)
    valid[:, 320:] = np.random.default_rng(1).random((480, 320)) < 0.5  # right half: half valid
    picks = sample_pixels(valid, 20_000, np.random.default_rng(2))
    v, u = np.divmod(picks, 640)
    tiles = np.histogram2d(v, u, bins=(4, 4), range=((0, 480), (0, 640)))[0]
    weight = np.tile([1.0, 1.0, 0.5, 0.5], (4, 1))  # valid share of each tile
    expected = 20_000 * weight / weight.sum()
    assert np.all(np.abs(tiles - expected) < 0.05 * expected)


def test_sampling_is_seeded():
    valid = np.random.default_rng(3).random((100, 100)) < 0.7
    a = sample_pixels(valid, 500, np.random.default_rng(7))
    b = sample_pixels(valid, 500, np.random.default_rng(7))
    c = sample_pixels(valid, 500, np.random.default_rng(8))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
