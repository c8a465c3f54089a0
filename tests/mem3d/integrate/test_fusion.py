"""The pieces of integration give what their plain definitions give, exactly, whatever the chunking."""

import numpy as np
import pytest

from mem3d.geometry import look_at
from mem3d.integrate import fusion
from mem3d.map import keys as voxel_keys
from mem3d.map import prefault, row_kernels
from mem3d.synthetic import FrameSpec, make_frame
from mem3d.types import FeatureFrame
from mem3d.voxel_map import MapConfig, VoxelMap
from tests.helpers.synthetic_room import DIM, frame_of
from tests.mem3d.map.compare import assert_same_map


def crowded_frame(seed: int = 0, n_points: int = 3000, palette_rows: int = 12) -> FeatureFrame:
    """Points packed into a few dozen voxels, each voxel hit by several palette rows (ties included)."""
    rng = np.random.default_rng(seed)
    points = rng.uniform(0.0, 0.2, (n_points, 3)).astype(np.float32)  # 4 x 4 x 4 voxels of 5 cm
    palette = rng.standard_normal((palette_rows, DIM)).astype(np.float32)
    palette /= np.linalg.norm(palette, axis=1, keepdims=True)
    return FeatureFrame(points, rng.integers(0, 256, (n_points, 3), dtype=np.uint8), palette,
                        rng.integers(0, palette_rows, n_points).astype(np.int32), np.eye(4), 1.0, 1)


def test_points_are_grouped_as_a_loop_over_the_points_would_group_them():
    frame = crowded_frame()
    grouped = fusion.group_by_voxel(frame, fusion.unit_palette(frame), 0.05)
    keys = voxel_keys.pack(voxel_keys.voxel_coords(frame.points, 0.05))
    voxel_keys_sorted = np.unique(keys)
    assert np.array_equal(voxel_keys.pack(grouped.coords), voxel_keys_sorted)
    for u, key in enumerate(voxel_keys_sorted.tolist()):
        mine = np.flatnonzero(keys == key)
        assert grouped.count[u] == mine.size
        position, color = np.zeros(3), np.zeros(3)
        for i in mine:  # float64 sums in frame order
            position += frame.points[i]
            color += frame.colors[i]
        assert np.array_equal(grouped.position_sum[u], position)
        assert np.array_equal(grouped.color_sum[u], color)
        rows, points = np.unique(frame.feature_index[mine], return_counts=True)
        pairs = slice(grouped.indptr[u], grouped.indptr[u + 1])
        assert np.array_equal(grouped.rows[pairs], rows) and np.array_equal(grouped.points[pairs], points)
        assert grouped.dominant[u] == rows[np.argmax(points)]  # the lowest row among the most points


def test_feature_sums_for_any_voxels_in_any_order_match_the_dense_product(monkeypatch):
    frame = crowded_frame(seed=1)
    grouped = fusion.group_by_voxel(frame, fusion.unit_palette(frame), 0.05)
    n_voxels, n_rows = grouped.count.size, grouped.palette.shape[0]
    dense = np.zeros((n_voxels, n_rows), np.float32)
    for u in range(n_voxels):
        pairs = slice(grouped.indptr[u], grouped.indptr[u + 1])
        dense[u, grouped.rows[pairs]] = grouped.points[pairs]
    voxels = np.random.default_rng(2).permutation(n_voxels)[: n_voxels - 5]
    out = np.empty((voxels.size, DIM), np.float32)
    sums = grouped.feature_sums(voxels, out).copy()
    assert np.allclose(sums, dense[voxels] @ grouped.palette, atol=1e-5)
    monkeypatch.setattr(row_kernels, "_csr_matvecs", None)  # scipy's public product, the fallback
    assert np.array_equal(grouped.feature_sums(voxels, out), sums)
    with pytest.raises(ValueError, match="C-contiguous"):
        grouped.feature_sums(voxels[:4], np.empty((DIM, 4), np.float32).T)


def test_the_map_is_the_same_bit_for_bit_whatever_the_chunk_size(monkeypatch, scene, concepts, camera):
    """Chunks that mix voxels already held with new ones, and contradicted voxels, change nothing."""
    def build(chunk_rows: int) -> VoxelMap:
        monkeypatch.setattr(fusion, "CHUNK_ROWS", chunk_rows)
        voxel_map = VoxelMap(MapConfig(feature_dim=DIM, feature_model="synthetic"))
        spec = FrameSpec(n_points=4000, carve_downsample=2, palette_variants=3, feature_noise=0.3)
        for obs_id, eye in enumerate([(-1.0, 0.0, 1.2), (-0.5, -1.0, 1.0), (-1.0, 1.0, 1.4), (-0.8, 0.0, 1.0)]):
            view = look_at(eye, (2.0, 0.0, 0.3))
            voxel_map.update(make_frame(scene, concepts, camera, view, obs_id=obs_id, stamp=10.0 + obs_id, spec=spec))
        crowd = crowded_frame(seed=3, palette_rows=4)
        crowd = FeatureFrame(crowd.points, crowd.colors, np.resize(concepts, (4, DIM)), crowd.feature_index,
                             crowd.T_world_camera, 20.0, 9, feature_model="synthetic")
        contradicted.append(voxel_map.update(crowd).contradicted.size)
        voxel_map.update(frame_of(scene, concepts, camera, 10))
        return voxel_map

    contradicted: list[int] = []
    reference = build(fusion.CHUNK_ROWS)
    assert len(reference) > 3 * 7 and contradicted[0] > 0
    assert_same_map(build(7), reference)


def test_the_shortcuts_of_fusion_change_no_bit_of_the_map(monkeypatch, scene, concepts, camera):
    """Repeated single pairs computed once, scipy's row kernels and populated pages give the map that
    computing every voxel, numpy's broadcasting and plain page faults give."""
    def build() -> VoxelMap:
        voxel_map = VoxelMap(MapConfig(feature_dim=DIM, feature_model="synthetic"))
        spec = FrameSpec(n_points=4000, carve_downsample=2, palette_variants=2, feature_noise=0.3)
        for obs_id, eye in enumerate([(-1.0, 0.0, 1.2), (-0.5, -1.0, 1.0), (-1.0, 1.0, 1.4), (-0.8, 0.0, 1.0)]):
            view = look_at(eye, (2.0, 0.0, 0.3))
            voxel_map.update(make_frame(scene, concepts, camera, view, obs_id=obs_id, stamp=10.0 + obs_id, spec=spec))
        return voxel_map

    repeats = []
    find_repeats = fusion.FrameVoxels.repeated_pairs

    def counted(self, voxels):
        found = find_repeats(self, voxels)
        repeats.append(found[0].size)
        return found

    monkeypatch.setattr(fusion.FrameVoxels, "repeated_pairs", counted)
    reference = build()
    assert sum(repeats) > 50  # the shortcut is taken
    none = np.empty(0, dtype=np.int64)
    monkeypatch.setattr(fusion.FrameVoxels, "repeated_pairs", lambda self, voxels: (none, none))
    monkeypatch.setattr(row_kernels, "_csr_matvecs", None)
    monkeypatch.setattr(row_kernels, "_csr_scale_rows", None)
    monkeypatch.setattr(prefault, "_madvise", None)
    assert_same_map(build(), reference)


def test_repeated_pairs_are_the_later_voxels_holding_an_earlier_ones_single_pair():
    frame = crowded_frame(seed=4, n_points=400, palette_rows=3)
    grouped = fusion.group_by_voxel(frame, fusion.unit_palette(frame), 0.05)
    voxels = np.random.default_rng(5).permutation(grouped.count.size)
    repeats, originals = grouped.repeated_pairs(voxels)
    pairs = [tuple(zip(grouped.rows[grouped.indptr[u]:grouped.indptr[u + 1]].tolist(),
                       grouped.points[grouped.indptr[u]:grouped.indptr[u + 1]].tolist())) for u in voxels.tolist()]
    expected = {i: pairs.index(pair) for i, pair in enumerate(pairs) if len(pair) == 1 and pairs.index(pair) < i}
    assert dict(zip(repeats.tolist(), originals.tolist())) == expected and expected


def test_each_voxel_holds_the_weighted_mean_of_what_it_held_and_what_the_frame_brought(scene, concepts, camera):
    plain_means = fusion.FusionConfig(contradict_below=None)
    voxel_map = VoxelMap(MapConfig(feature_dim=DIM, feature_model="synthetic", fusion=plain_means))
    spec = FrameSpec(n_points=4000, palette_variants=3, feature_noise=0.4)
    voxel_map.integrate(make_frame(scene, concepts, camera, look_at((-1.0, 0.5, 1.2), (2.0, 0.0, 0.3)),
                                   obs_id=0, stamp=1.0, spec=spec))
    before = voxel_map.voxels()
    frame = make_frame(scene, concepts, camera, look_at((-1.0, -0.3, 1.0), (2.0, 0.0, 0.3)), obs_id=1, stamp=2.0,
                       spec=spec)
    update = voxel_map.integrate(frame)
    assert update.updated.size > 100 and update.added.size > 100
    keys = voxel_keys.pack(voxel_keys.voxel_coords(frame.points, voxel_map.voxel_size))
    palette = fusion.unit_palette(frame)
    held = {key: i for i, key in enumerate(before.keys.tolist())}
    after = voxel_map.voxels()
    row_of = {key: i for i, key in enumerate(after.keys.tolist())}
    agreement = []
    for key in np.concatenate([update.updated, update.added]).tolist():
        brought = palette[frame.feature_index[keys == key]].sum(axis=0)
        if key in held:
            i = held[key]
            brought = brought + min(before.weights[i], 32.0) * before.features[i]
        expected = brought / np.linalg.norm(brought)
        agreement.append(after.features[row_of[key]] @ expected)
    assert min(agreement) > 0.995  # int8 storage, before and after (0.97 if one voxel missed its blend)
