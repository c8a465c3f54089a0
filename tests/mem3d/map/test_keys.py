import numpy as np
import pytest

from mem3d.errors import InvalidInputError
from mem3d.map import keys as voxel_keys


def test_pack_unpack_round_trip_including_negative_coordinates():
    rng = np.random.default_rng(0)
    coords = rng.integers(-(1 << 20), 1 << 20, size=(1000, 3))
    assert np.array_equal(voxel_keys.unpack(voxel_keys.pack(coords)), coords)
    assert np.unique(voxel_keys.pack(coords)).shape[0] == np.unique(coords, axis=0).shape[0]


def test_voxel_coords_floor_points_and_reject_out_of_range():
    points = np.array([[0.0, -0.01, 0.049], [0.05, -0.05, 0.1]])
    assert voxel_keys.voxel_coords(points, 0.05).tolist() == [[0, -1, 0], [1, -1, 2]]
    with pytest.raises(InvalidInputError, match="range"):
        voxel_keys.voxel_coords(np.array([[1e6, 0.0, 0.0]]), 0.05)


def test_block_of_splits_coordinates_into_block_and_cell():
    coords = np.array([[0, 0, 0], [7, 7, 7], [8, 0, 0], [-1, -1, -1]])
    blocks, cells = voxel_keys.block_of(coords)
    assert blocks.tolist() == [[0, 0, 0], [0, 0, 0], [1, 0, 0], [-1, -1, -1]]
    assert cells.tolist() == [0, 511, 0, 511]


def test_centers_are_in_the_middle_of_voxels():
    keys = voxel_keys.pack(np.array([[0, 0, 0], [-1, 2, 3]]))
    assert np.allclose(voxel_keys.centers(keys, 0.1), [[0.05, 0.05, 0.05], [-0.05, 0.25, 0.35]])


def test_grouping_keys_gives_what_unique_gives_with_one_occurrence_of_each():
    keys = np.random.default_rng(6).integers(-50, 50, 2000)
    distinct, one, inverse = voxel_keys.group(keys)
    expected, expected_inverse = np.unique(keys, return_inverse=True)
    assert np.array_equal(distinct, expected) and np.array_equal(inverse, expected_inverse)
    assert np.array_equal(keys[one], distinct)
    empty = voxel_keys.group(np.empty(0, dtype=np.int64))
    assert [part.size for part in empty] == [0, 0, 0]
