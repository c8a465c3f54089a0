"""The map's public storage API: contents, incremental snapshots, reserved columns, restore."""

import dataclasses

import numpy as np
import pytest

from mem3d.errors import InvalidInputError
from mem3d.voxel_map import VoxelMap
from tests.helpers.synthetic_room import MUG, frame_of, observe
from tests.mem3d.map.compare import assert_same_map


def test_a_snapshot_is_copied_step_by_step_and_stays_detached(new_map, scene, concepts, camera):
    observe(new_map, scene, concepts, camera, range(3))
    before = VoxelMap.restore(new_map.contents())  # an independent copy to compare with later
    snapshot = new_map.begin_snapshot()
    while not snapshot.step():  # the map answers queries between steps
        assert snapshot.contents is None
        new_map.localize(concepts[MUG])
    new_map.update(frame_of(scene, concepts, camera, 3))  # changes after the copy do not reach it
    copied = VoxelMap.restore(snapshot.contents)
    assert_same_map(before, copied)
    assert copied.localize(concepts[MUG]) == before.localize(concepts[MUG])


def test_the_map_grows_without_copying_and_counts_only_the_rows_it_used(new_map, scene, concepts, camera):
    store = new_map.grid.store
    arrays, capacity = {c.name: store.array(c.name) for c in store.columns}, store.capacity
    empty_bytes = new_map.nbytes()
    assert empty_bytes < 1 << 20  # the reservation itself costs nothing
    observe(new_map, scene, concepts, camera, range(4))
    assert store.capacity == capacity and len(new_map) > 1000
    assert all(store.array(name) is array for name, array in arrays.items())  # the same arrays: no copy
    row_bytes = sum(column.row_bytes for column in store.columns)
    assert len(new_map) * row_bytes < new_map.nbytes() - empty_bytes < 2 * len(new_map) * row_bytes + (1 << 20)


def test_restoring_incomplete_or_misshapen_contents_is_refused(new_map, scene, concepts, camera):
    observe(new_map, scene, concepts, camera, range(1))
    contents = new_map.contents()
    without_weight = {name: rows for name, rows in contents.columns.items() if name != "weight"}
    with pytest.raises(InvalidInputError, match="weight"):
        VoxelMap.restore(dataclasses.replace(contents, columns=without_weight))
    with pytest.raises(InvalidInputError, match="codebook drift"):
        VoxelMap.restore(dataclasses.replace(contents, codebook={k: v for k, v in contents.codebook.items()
                                                                 if k != "drift"}))
    short = dict(contents.columns, color=contents.columns["color"][1:])
    with pytest.raises(InvalidInputError, match="color"):
        VoxelMap.restore(dataclasses.replace(contents, columns=short))
    assert np.array_equal(VoxelMap.restore(contents).voxels().keys, new_map.voxels().keys)
