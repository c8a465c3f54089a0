"""Integration places voxels where the surfaces are, with fused features, colours, weights and stamps."""

import numpy as np

from mem3d.geometry import look_at
from mem3d.map import keys as voxel_keys
from mem3d.synthetic import FrameSpec, make_frame
from tests.helpers.synthetic_room import MUG, VIEW, frame_of, observe, room_boxes


def surface_distance(points: np.ndarray, boxes=None) -> np.ndarray:
    """Distance from each point to the nearest surface of the boxes (default: the room), analytic."""
    best = np.full(points.shape[0], np.inf)
    for box in boxes or room_boxes():
        lo, hi = box.min_corner, box.max_corner
        outside = np.linalg.norm(np.maximum(np.maximum(lo - points, points - hi), 0.0), axis=1)
        inside = np.all((points >= lo) & (points <= hi), axis=1)
        to_face = np.minimum(np.abs(points - lo), np.abs(points - hi)).min(axis=1)
        best = np.minimum(best, np.where(inside, to_face, outside))
    return best


def test_voxels_lie_on_the_surfaces(new_map, scene, concepts, camera):
    observe(new_map, scene, concepts, camera, range(3))
    voxels = new_map.voxels()
    assert len(new_map) > 1000
    # Mean positions are averages of surface points inside one voxel: on flat faces they are exact,
    # near edges they stay within the voxel.
    distance = surface_distance(voxels.positions.astype(np.float64))
    assert np.median(distance) < 1e-3
    assert distance.max() < new_map.voxel_size * np.sqrt(3)
    # Every voxel's key is the voxel its mean position falls in (or a neighbour, for boundary means).
    coords = voxel_keys.unpack(voxels.keys)
    assert np.abs(voxel_keys.voxel_coords(voxels.positions, new_map.voxel_size) - coords).max() <= 1


def test_fused_features_colours_and_weights(new_map, scene, concepts, camera):
    observe(new_map, scene, concepts, camera, range(2))
    voxels = new_map.voxels()
    mug = room_boxes()[MUG]
    on_mug = (surface_distance(voxels.positions.astype(np.float64), [mug]) < 1e-3) & (voxels.positions[:, 2] > 0.06)
    assert on_mug.sum() > 20
    assert np.median(voxels.features[on_mug] @ concepts[MUG]) > 0.99
    assert np.all(voxels.colors[on_mug] == mug.color)
    assert np.allclose(np.linalg.norm(voxels.features, axis=1), 1.0, atol=0.01)
    assert voxels.weights.min() >= 1.0
    assert set(np.unique(voxels.last_obs_id)) <= {0, 1}
    assert voxels.first_seen.min() == 10.0 and voxels.last_seen.max() == 11.0


def test_update_reports_added_then_updated_keys(new_map, scene, concepts, camera):
    first = new_map.update(frame_of(scene, concepts, camera, 0))
    assert first.added.size == len(new_map) and first.updated.size == 0 and first.removed.size == 0
    frame = frame_of(scene, concepts, camera, 1)
    second = new_map.update(frame)
    hit = np.unique(voxel_keys.pack(voxel_keys.voxel_coords(frame.points, new_map.voxel_size)))
    assert np.array_equal(np.sort(np.concatenate([second.added, second.updated])), hit)
    assert second.updated.size > 0 and np.isin(second.updated, first.added).all()
    assert not np.isin(second.added, first.added).any()


def test_voxels_the_frame_does_not_see_stay_bit_identical(new_map, scene, concepts, camera):
    observe(new_map, scene, concepts, camera, range(2))
    before = new_map.voxels()
    close_up = look_at((1.5, -1.9, 0.7), (1.5, -1.0, 0.1))  # the book, from its side
    update = new_map.update(frame_of(scene, concepts, camera, 5, T_world_camera=close_up))
    assert update.added.size + update.updated.size > 0
    untouched = ~np.isin(before.keys, np.concatenate([update.updated, update.removed]))
    after = new_map.voxels()
    where = {key: i for i, key in enumerate(after.keys.tolist())}
    rows = np.array([where[k] for k in before.keys[untouched].tolist()])
    for name in ("positions", "colors", "weights", "features", "first_seen", "last_seen", "last_obs_id"):
        assert np.array_equal(getattr(after, name)[rows], getattr(before, name)[untouched]), name


def test_palette_and_per_point_features_fuse_identically(new_map, scene, concepts, camera):
    """A palette frame and the same frame with one feature row per point give the same map."""
    from mem3d.types import FeatureFrame
    from mem3d.voxel_map import MapConfig, VoxelMap
    frame = make_frame(scene, concepts, camera, VIEW, obs_id=0, stamp=1.0, spec=FrameSpec(n_points=3000))
    per_point = FeatureFrame(frame.points, frame.colors, frame.features[frame.feature_index],
                             np.arange(frame.n_points, dtype=np.int32), frame.T_world_camera, frame.stamp,
                             frame.obs_id, frame.depth, frame.intrinsics, frame.feature_model)
    other = VoxelMap(MapConfig(feature_dim=new_map.feature_dim, feature_model="synthetic"))
    new_map.update(frame)
    other.update(per_point)
    a, b = new_map.voxels(), other.voxels()
    assert np.array_equal(a.keys, b.keys)
    assert np.allclose(a.features, b.features, atol=2e-2)
    assert np.allclose(a.positions, b.positions)


def test_an_object_swapped_in_place_takes_over_its_voxels(new_map, scene, concepts, camera):
    """Same geometry, other object: the frames contradict the stored features, which follow quickly."""
    from tests.helpers.synthetic_room import BOOK
    observe(new_map, scene, concepts, camera, range(3))
    mug = room_boxes()[MUG]
    scene.replace(MUG, type(mug)(mug.center, mug.size, BOOK, (20, 20, 200)))  # a book-box where the mug was
    first = new_map.update(frame_of(scene, concepts, camera, 3))
    assert first.contradicted.size > 50
    observe(new_map, scene, concepts, camera, range(4, 6))
    voxels = new_map.voxels()
    face = (surface_distance(voxels.positions.astype(np.float64), [mug]) < 1e-3) & (voxels.positions[:, 2] > 0.06)
    seen_since = face & (voxels.last_seen >= 13.0)  # re-observed after the swap
    assert seen_since.sum() > 50
    assert np.median(voxels.features[seen_since] @ concepts[BOOK]) > 0.9
    assert np.mean(voxels.features[seen_since] @ concepts[MUG] > new_map.config.localize.threshold) < 0.1


def test_without_contradiction_handling_old_features_linger(scene, concepts, camera):
    """The same swap with plain running means: the mug is still what most of those voxels say."""
    from mem3d.integrate.fusion import FusionConfig
    from mem3d.voxel_map import MapConfig, VoxelMap
    from tests.helpers.synthetic_room import BOOK, DIM
    voxel_map = VoxelMap(MapConfig(feature_dim=DIM, feature_model="synthetic",
                                   fusion=FusionConfig(contradict_below=None)))
    observe(voxel_map, scene, concepts, camera, range(3))
    mug = room_boxes()[MUG]
    scene.replace(MUG, type(mug)(mug.center, mug.size, BOOK, (20, 20, 200)))
    assert voxel_map.update(frame_of(scene, concepts, camera, 3)).contradicted.size == 0
    assert voxel_map.localize(concepts[MUG]).found
