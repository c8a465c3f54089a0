"""A replica follows its map through the map's changes: same voxels, same codebook, same answers."""

import numpy as np

from mem3d.geometry import look_at
from mem3d.service.replica import MapReplica
from mem3d.voxel_map import MapConfig, VoxelMap
from tests.helpers.synthetic_room import BOOK, DIM, MUG, frame_of


def assert_replica_matches(replica: MapReplica, voxel_map: VoxelMap) -> None:
    mine, theirs = replica.contents(), voxel_map.contents()
    assert mine.n_voxels == theirs.n_voxels
    for name, rows in theirs.columns.items():
        assert np.array_equal(mine.columns[name], rows), name
    for part in ("centroids", "drift"):  # what a search reads
        assert np.array_equal(mine.codebook[part], theirs.codebook[part]), part


def test_a_replica_matches_its_map_after_every_frame_with_carving_and_eviction(scene, concepts, camera):
    voxel_map = VoxelMap(MapConfig(feature_dim=DIM, feature_model="synthetic", max_voxels=6000))
    voxel_map.update(frame_of(scene, concepts, camera, 0))
    voxel_map.track_changes()
    replica = MapReplica(voxel_map.contents(), seq=1)
    removed = evicted = 0
    for i in range(1, 12):
        pose = look_at((-1.0 + 0.15 * i, 0.1 * i, 1.2), (3.0, 0.3 * np.sin(i), 0.4))
        update = voxel_map.update(frame_of(scene, concepts, camera, i, T_world_camera=pose))
        removed, evicted = removed + update.removed.size, evicted + update.evicted.size
        replica.apply(voxel_map.take_changes(), seq=i + 1)
        assert replica.seq == i + 1
        assert_replica_matches(replica, voxel_map)
        for concept in (MUG, BOOK):
            assert replica.localize(concepts[concept]) == voxel_map.localize(concepts[concept])
    assert evicted > 0  # the budget moved voxels around (removal fills holes from the tail)


def test_changes_are_only_the_rows_a_frame_wrote(new_map, scene, concepts, camera):
    new_map.update(frame_of(scene, concepts, camera, 0))
    new_map.track_changes()
    assert new_map.take_changes().slots.size == 0
    update = new_map.update(frame_of(scene, concepts, camera, 1))
    changes = new_map.take_changes()
    fused = np.concatenate([update.added, update.updated])
    # the fused voxels, plus the holes that carving filled with voxels from the tail
    assert fused.size <= changes.slots.size <= fused.size + update.removed.size
    assert np.isin(fused, new_map.contents().columns["key"][changes.slots]).all()
    assert changes.codebook is None or set(changes.codebook) == {"centroids", "sums", "counts", "drift"}
