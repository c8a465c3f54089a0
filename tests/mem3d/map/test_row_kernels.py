"""scipy's row kernels round as numpy's broadcasting does, bit for bit, and so do their fallbacks."""

import numpy as np
import pytest

from mem3d.map import row_kernels


def blocks(seed: int = 0, n: int = 37, dim: int = 64):
    rng = np.random.default_rng(seed)
    rows = (rng.standard_normal((n, dim)) * rng.uniform(1e-3, 1e3, (n, 1))).astype(np.float32)
    rows[3] = 0.0
    return rows, rng.standard_normal(n).astype(np.float32), rng.standard_normal((n, dim)).astype(np.float32)


@pytest.mark.parametrize("kernels", [True, False])
def test_scaling_and_weighted_adds_match_numpy_bit_for_bit(monkeypatch, kernels):
    if not kernels:
        monkeypatch.setattr(row_kernels, "_csr_matvecs", None)
        monkeypatch.setattr(row_kernels, "_csr_scale_rows", None)
    rows, factors, out = blocks()
    scaled = rows.copy()
    row_kernels.scale_rows(scaled, factors)
    assert np.array_equal(scaled.view(np.int32), (rows * factors[:, None]).view(np.int32))
    added = out.copy()
    row_kernels.add_scaled_rows(added, factors, rows)
    expected = out.copy()
    expected += rows * factors[:, None]
    assert np.array_equal(added.view(np.int32), expected.view(np.int32))


@pytest.mark.parametrize("kernels", [True, False])
def test_a_slice_of_a_products_rows_is_those_rows_of_the_product(monkeypatch, kernels):
    if not kernels:
        monkeypatch.setattr(row_kernels, "_csr_matvecs", None)
    rng = np.random.default_rng(1)
    dense = rng.standard_normal((9, 16)).astype(np.float32)
    lengths = rng.integers(0, 4, 12)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    columns = rng.integers(0, 9, indptr[-1]).astype(np.int32)
    values = rng.uniform(1, 5, indptr[-1]).astype(np.float32)
    whole = np.zeros((12, 16), np.float32)
    row_kernels.add_product(indptr, columns, values, dense, whole)
    part = np.zeros((5, 16), np.float32)
    row_kernels.add_product(indptr[4:10], columns, values, dense, part)
    assert np.array_equal(part, whole[4:9])
    for i in range(12):  # each row: its entries added in order
        row = np.zeros(16, np.float32)
        for j in range(indptr[i], indptr[i + 1]):
            row += values[j] * dense[columns[j]]
        assert np.array_equal(whole[i], row)


def test_a_block_that_is_not_contiguous_is_refused():
    rows, factors, _ = blocks()
    with pytest.raises(ValueError, match="C-contiguous"):
        row_kernels.scale_rows(rows.T, factors)
