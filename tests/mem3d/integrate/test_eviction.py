"""The voxel budget evicts the least recently observed voxels first."""

import numpy as np

from mem3d.geometry import look_at
from mem3d.voxel_map import MapConfig, VoxelMap
from tests.helpers.synthetic_room import DIM, frame_of, observe

LEFT = look_at((-1.0, 0.0, 1.2), (3.0, 2.5, 0.4))
RIGHT = look_at((-1.0, 0.0, 1.2), (3.0, -2.5, 0.4))


def test_budget_is_enforced_by_evicting_the_stalest_voxels(scene, concepts, camera):
    budget = 6000
    voxel_map = VoxelMap(MapConfig(feature_dim=DIM, feature_model="synthetic", max_voxels=budget,
                                   eviction_low_water=0.9))
    observe(voxel_map, scene, concepts, camera, range(3), T_world_camera=LEFT)
    before = voxel_map.voxels()
    assert len(before.keys) <= budget
    update = voxel_map.update(frame_of(scene, concepts, camera, 3, T_world_camera=RIGHT))
    assert update.evicted.size > 0
    assert len(voxel_map) <= int(0.9 * budget)
    after = voxel_map.voxels()
    assert not np.isin(update.evicted, after.keys).any()
    assert np.isin(np.concatenate([update.added, update.updated]), after.keys).all()  # this frame is kept
    # Every evicted voxel was seen no later than every surviving voxel from before the frame.
    survivors = np.isin(before.keys, after.keys) & ~np.isin(before.keys, update.updated)
    evicted = np.isin(before.keys, update.evicted)
    assert before.last_seen[evicted].max() <= before.last_seen[survivors].min()


def test_no_eviction_without_a_budget(scene, concepts, camera):
    voxel_map = VoxelMap(MapConfig(feature_dim=DIM, feature_model="synthetic"))
    observe(voxel_map, scene, concepts, camera, range(2), T_world_camera=LEFT)
    update = voxel_map.update(frame_of(scene, concepts, camera, 2, T_world_camera=RIGHT))
    assert update.evicted.size == 0
