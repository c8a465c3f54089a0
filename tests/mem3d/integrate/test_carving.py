"""Carving removes what the depth shows to be free space, and nothing else."""

import numpy as np

from mem3d.geometry import look_at
from mem3d.synthetic import Box, BoxScene
from mem3d.voxel_map import MapConfig, VoxelMap
from tests.helpers.synthetic_room import MUG, frame_of, observe, room_boxes


def mug_voxels(voxel_map, concepts, near: Box, min_height: float = 0.0) -> np.ndarray:
    voxels = voxel_map.voxels()
    is_mug = voxels.features @ concepts[MUG] > 0.9
    inside = np.all((voxels.positions >= near.min_corner - 0.05) & (voxels.positions <= near.max_corner + 0.05), 1)
    return np.flatnonzero(is_mug & inside & (voxels.positions[:, 2] >= min_height))


def test_moved_box_is_carved_from_its_old_place_and_appears_at_the_new(new_map, scene, concepts, camera):
    old = room_boxes()[MUG]
    observe(new_map, scene, concepts, camera, range(3))
    assert mug_voxels(new_map, concepts, old).size > 50
    new = old.moved_to((1.5, 1.0, 0.25))
    scene.replace(MUG, new)
    update = new_map.update(frame_of(scene, concepts, camera, 3))
    assert update.removed.size > 50
    # Above the floor-contact layer (which the floor behind it cannot disprove), nothing is left.
    assert mug_voxels(new_map, concepts, old, min_height=2 * new_map.voxel_size).size == 0
    assert mug_voxels(new_map, concepts, new).size > 50
    removed_centers = new_map.voxel_centers(update.removed)
    assert np.all(np.abs(removed_centers[:, :2] - np.array(old.center[:2])) < 0.25)


def test_occluded_box_is_not_carved(new_map, concepts, camera):
    """A box seen from the side stays when a later view has it hidden behind a closer box, even
    though it has in fact gone meanwhile: nothing seen disproves it, so the memory keeps it."""
    hidden = Box((2.0, 0.0, 0.25), (0.3, 0.3, 0.5), MUG, (200, 20, 20))
    scene = BoxScene(room_boxes()[:2] + [hidden])
    side_view = look_at((1.0, -1.5, 1.0), (2.0, 0.0, 0.25))
    observe(new_map, scene, concepts, camera, range(2), T_world_camera=side_view)
    before = mug_voxels(new_map, concepts, hidden).size
    assert before > 30
    screen = Box((1.0, 0.0, 0.6), (0.1, 1.2, 1.2), 3, (0, 200, 0))
    scene = BoxScene(room_boxes()[:2] + [screen])  # the box is gone, behind the screen
    observe(new_map, scene, concepts, camera, range(2, 4))
    assert mug_voxels(new_map, concepts, hidden).size == before
    unscreened = BoxScene(room_boxes()[:2])  # control: the same view without the screen carves it
    observe(new_map, unscreened, concepts, camera, range(4, 6))
    assert mug_voxels(new_map, concepts, hidden, min_height=2 * new_map.voxel_size).size == 0


def test_voxels_outside_the_image_or_beyond_range_are_kept(concepts, camera):
    voxel_map = VoxelMap(MapConfig(feature_dim=concepts.shape[1], feature_model="synthetic"))
    box = room_boxes()[MUG]
    scene = BoxScene(room_boxes()[:2] + [box])
    observe(voxel_map, scene, concepts, camera, range(2))
    box_keys = voxel_map.voxels().keys[mug_voxels(voxel_map, concepts, box)]
    assert box_keys.size > 50
    scene = BoxScene(room_boxes()[:2])  # the box is gone...
    away = look_at((-1.0, 0.0, 1.2), (-1.0, 3.0, 0.4))  # ...but the camera looks elsewhere
    for T_world_camera, obs_ids in ((away, range(2, 4)), (look_at((-6.0, 0.0, 1.2), (3.0, 0.0, 0.4)), range(4, 6))):
        # (second: the box's place is 7.5 m away, beyond the 4 m trusted range)
        for obs_id in obs_ids:
            assert not np.isin(voxel_map.update(frame_of(scene, concepts, camera, obs_id, T_world_camera)).removed,
                               box_keys).any()
    assert np.isin(box_keys, voxel_map.voxels().keys).all()


def test_missing_depth_proves_nothing(new_map, scene, concepts, camera):
    observe(new_map, scene, concepts, camera, range(2))
    frame = frame_of(BoxScene(room_boxes()[:2]), concepts, camera, 2)  # box gone...
    frame.depth[:] = 0.0                                                 # ...but no depth at all
    update = new_map.update(frame)
    assert update.removed.size == 0


def test_carve_alone_reports_removed_keys(new_map, scene, concepts, camera):
    observe(new_map, scene, concepts, camera, range(2))
    empty_room = frame_of(BoxScene(room_boxes()[:2]), concepts, camera, 2)
    n_before = len(new_map)
    update = new_map.carve(empty_room.depth, empty_room.intrinsics, empty_room.T_world_camera, stamp=3.0)
    assert update.removed.size == n_before - len(new_map) > 0
    assert update.added.size == 0 and update.updated.size == 0


def test_a_frame_without_points_still_carves(new_map, scene, concepts, camera):
    import dataclasses
    observe(new_map, scene, concepts, camera, range(2))
    n_before = len(new_map)
    gone = frame_of(BoxScene(room_boxes()[:2]), concepts, camera, 2)
    depth_only = dataclasses.replace(gone, points=np.empty((0, 3), np.float32), colors=np.empty((0, 3), np.uint8),
                                     features=np.empty((0, concepts.shape[1]), np.float32),
                                     feature_index=np.empty(0, np.int32))
    update = new_map.update(depth_only)
    assert update.removed.size > 50 and update.added.size == 0
    assert len(new_map) == n_before - update.removed.size
