"""The codebook search is exact: it returns the same voxels as brute force, for any data."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mem3d.feature_codec import dequantize_rows, quantize_rows
from mem3d.feature_index import FeatureCodebook, IndexConfig


def unit(rows):
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n_concepts=st.integers(1, 40), noise=st.floats(0.0, 1.5),
       threshold=st.floats(-0.2, 0.95), max_centroids=st.integers(1, 64))
def test_candidates_are_a_superset_of_brute_force_matches(seed, n_concepts, noise, threshold, max_centroids):
    rng = np.random.default_rng(seed)
    dim = 24
    concepts = unit(rng.standard_normal((n_concepts, dim))).astype(np.float32)
    palette = unit(concepts[rng.integers(0, n_concepts, 60)] + noise * rng.standard_normal((60, dim)) / 5)
    codebook = FeatureCodebook(dim, IndexConfig(max_centroids=max_centroids, new_centroid_residual=0.3))
    palette_codes = codebook.learn(palette.astype(np.float32))
    # voxel features: mixtures of palette rows, stored quantized, as fusion does
    mix = palette[rng.integers(0, 60, 500)] + 0.5 * palette[rng.integers(0, 60, 500)]
    q, scales = quantize_rows(mix.astype(np.float32))
    stored = dequantize_rows(q, scales)
    codes = palette_codes[rng.integers(0, 60, 500)]  # any assignment keeps the bound valid
    residuals = codebook.residuals(stored, codes)
    query = unit(rng.standard_normal((1, dim)) + concepts[0])[0].astype(np.float32)
    exact = np.flatnonzero(stored @ query >= threshold)
    found = codebook.candidates(codes, residuals, query, threshold)
    assert np.isin(exact, found).all()


def test_learning_adds_centroids_only_for_novel_features():
    rng = np.random.default_rng(0)
    base = unit(rng.standard_normal((5, 64))).astype(np.float32)
    codebook = FeatureCodebook(64, IndexConfig(max_centroids=100, new_centroid_residual=0.3))
    codes = codebook.learn(base)
    assert len(codebook) == 5 and sorted(codes.tolist()) == [0, 1, 2, 3, 4]
    near = unit(base + 0.01 * rng.standard_normal(base.shape)).astype(np.float32)
    assert np.array_equal(codebook.learn(near), codes) and len(codebook) == 5
    capped = FeatureCodebook(64, IndexConfig(max_centroids=3))
    capped.learn(base)
    assert len(capped) == 3


def test_quantization_keeps_cosine_within_a_few_thousandths():
    rng = np.random.default_rng(1)
    rows = unit(rng.standard_normal((1000, 512))).astype(np.float32)
    q, scales = quantize_rows(rows.copy())
    back = dequantize_rows(q, scales)
    assert q.dtype == np.int8 and np.abs(q).max() == 127
    assert np.abs(np.einsum("ij,ij->i", back, rows) - 1.0).max() < 2e-3
    query = unit(rng.standard_normal((1, 512)))[0].astype(np.float32)
    assert np.abs(back @ query - rows @ query).max() < 5e-3
