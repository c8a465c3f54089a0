"""Comparing two maps through what they store."""

import numpy as np

from mem3d.map import keys as voxel_keys


def assert_same_map(a, b):
    """Every stored column (raw, not dequantized), the codebook state and the config are identical,
    and ``b``'s spatial hash finds each of its voxels."""
    ca, cb = a.contents(), b.contents()
    assert ca.n_voxels == cb.n_voxels and list(ca.columns) == list(cb.columns)
    for name, rows in ca.columns.items():
        assert np.array_equal(rows, cb.columns[name]), name
    assert list(ca.codebook) == list(cb.codebook)
    for part, array in ca.codebook.items():
        assert np.array_equal(array, cb.codebook[part]), part
    assert a.config == b.config
    keys = cb.columns["key"]
    assert np.array_equal(b.grid.lookup(voxel_keys.unpack(keys)), np.arange(keys.shape[0]))
