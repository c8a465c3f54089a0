"""The map's public storage API: contents, incremental snapshots and growth, restore."""

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


def test_growth_for_a_frame_is_made_before_the_frame_and_used_when_complete(new_map, scene, concepts, camera):
    frame = frame_of(scene, concepts, camera, 0)
    growth = new_map.begin_growth(frame)  # 6000 points do not fit the first 1024 slots
    assert growth is not None
    bytes_before = new_map.nbytes()
    while not growth.step():
        pass
    assert new_map.nbytes() > bytes_before and new_map.begin_growth(frame) is None  # room for the frame
    new_map.update(frame)
    reference = VoxelMap(new_map.config)
    reference.update(frame)
    assert_same_map(reference, new_map)


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
