"""The codebook search is exact: it returns the same voxels as brute force, for any data."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mem3d.map.codebook import FeatureCodebook, IndexConfig
from mem3d.map.codec import dequantize_rows, quantize_into


def unit(rows):
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def quantize(rows):
    """int8 rows and scales of float32 ``rows`` (consumed), as fusion stores features."""
    out = np.empty(rows.shape, dtype=np.int8)
    return out, quantize_into(rows, out)


def exact_residuals(codebook, features, codes):
    return np.linalg.norm(features - codebook.centroids[codes], axis=1)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n_concepts=st.integers(1, 40), noise=st.floats(0.0, 1.5),
       threshold=st.floats(-0.2, 0.95), max_centroids=st.integers(1, 64), later_frames=st.integers(0, 5))
def test_candidates_are_a_superset_of_brute_force_matches(seed, n_concepts, noise, threshold, max_centroids,
                                                          later_frames):
    rng = np.random.default_rng(seed)
    dim = 24
    concepts = unit(rng.standard_normal((n_concepts, dim)))

    def palette():
        return unit(concepts[rng.integers(0, n_concepts, 60)] + noise * rng.standard_normal((60, dim)) / 5)

    codebook = FeatureCodebook(dim, IndexConfig(max_centroids=max_centroids, new_centroid_residual=0.3))
    rows = palette()
    palette_codes = codebook.learn(rows)
    # voxel features: mixtures of palette rows, stored quantized, as fusion does
    q, scales = quantize(rows[rng.integers(0, 60, 500)] + 0.5 * rows[rng.integers(0, 60, 500)])
    stored = dequantize_rows(q, scales)
    codes = palette_codes[rng.integers(0, 60, 500)]  # any assignment keeps the bound valid
    slack = codebook.slack(exact_residuals(codebook, stored, codes), codes)
    for _ in range(later_frames):  # centroids keep learning and move after the voxels were stored
        codebook.learn(palette())
    query = unit(rng.standard_normal((1, dim)) + concepts[0])[0]
    exact = np.flatnonzero(stored @ query >= threshold)
    found = codebook.candidates(codes, slack, query, threshold)
    assert np.isin(exact, found).all()


def test_learning_adds_centroids_only_for_novel_features_and_moves_them_to_the_mean():
    rng = np.random.default_rng(0)
    base = unit(rng.standard_normal((5, 64)))
    codebook = FeatureCodebook(64, IndexConfig(max_centroids=100, new_centroid_residual=0.3, freeze_after=8))
    codes = codebook.learn(unit(base + 0.02 * rng.standard_normal(base.shape)))  # seeded by a noisy view
    assert len(codebook) == 5 and sorted(codes.tolist()) == [0, 1, 2, 3, 4]
    first = codebook.centroids.copy()
    for _ in range(20):  # noisy views of the same five concepts
        near = unit(base + 0.02 * rng.standard_normal(base.shape))
        assert np.array_equal(codebook.learn(near), codes)
    assert len(codebook) == 5 and codebook.counts.tolist() == [8] * 5  # frozen after 8 members
    # the mean of the views is closer to the concept than the first view was
    assert np.allclose(np.linalg.norm(codebook.centroids, axis=1), 1.0, atol=1e-5)
    moved = np.linalg.norm(codebook.centroids - first, axis=1)
    assert np.all(moved > 0) and np.all(codebook.drift >= moved)  # drift bounds the movement
    assert np.all(np.linalg.norm(codebook.centroids - base, axis=1) < np.linalg.norm(first - base, axis=1))
    capped = FeatureCodebook(64, IndexConfig(max_centroids=3))
    capped.learn(base)
    assert len(capped) == 3


def test_quantization_keeps_cosine_within_a_few_thousandths():
    rng = np.random.default_rng(1)
    rows = unit(rng.standard_normal((1000, 512)))
    q, scales = quantize(rows.copy())
    back = dequantize_rows(q, scales)
    assert q.dtype == np.int8 and np.abs(q).max() == 127
    assert np.abs(np.einsum("ij,ij->i", back, rows) - 1.0).max() < 2e-3
    query = unit(rng.standard_normal((1, 512)))[0]
    assert np.abs(back @ query - rows @ query).max() < 5e-3


def test_peak_magnitudes_are_exact_for_any_signs():
    from mem3d.map.codec import peak_magnitudes
    rng = np.random.default_rng(4)
    rows = (rng.standard_normal((50, 33)) * 10.0 ** rng.integers(-30, 30, (50, 1))).astype(np.float32)
    rows[0] = -np.abs(rows[0])  # all negative
    rows[1] = np.abs(rows[1])   # all positive
    rows[2] = 0.0
    rows[3] = -0.0
    assert np.array_equal(peak_magnitudes(rows), np.abs(rows).max(axis=1))
    assert np.array_equal(peak_magnitudes(rows, np.empty_like(rows)), np.abs(rows).max(axis=1))


def test_learning_accumulates_members_in_order_as_add_at_would():
    """The centroid sums are float32 running sums: the same rows in the same order, bit for bit."""
    rng = np.random.default_rng(5)
    base = unit(rng.standard_normal((3, 16)))
    codebook = FeatureCodebook(16, IndexConfig(max_centroids=10, new_centroid_residual=0.5, freeze_after=1000))
    codebook.learn(base)
    palette = unit(base[rng.integers(0, 3, 40)] + 0.05 * rng.standard_normal((40, 16)))  # repeated codes
    sums = codebook.sums.copy()
    codes = codebook.learn(palette)
    np.add.at(sums, codes, palette)
    assert np.array_equal(codebook.sums, sums)
    assert codebook.counts.tolist() == (1 + np.bincount(codes, minlength=3)).tolist()
