"""A frame's segments: palette rows of one thing are grouped, so a ViT-like palette (many noisy
variants of each object's feature) makes the same objects as one row per label."""

import numpy as np

from bench.aisle import AisleSpec, AisleWalker
from mem3d.episodic.config import EpisodicConfig, InstanceConfig
from mem3d.episodic.instances import _sorted_pairs, feature_groups, frame_segments
from mem3d.episodic.memory import EpisodicMemory
from mem3d.synthetic import random_concepts
from mem3d.voxel_map import MapConfig, VoxelMap


def test_noisy_variants_of_a_feature_form_one_group_and_distinct_features_stay_apart():
    concepts = random_concepts(3, 64, seed=1)
    rng = np.random.default_rng(0)
    variants = np.repeat(concepts, 5, axis=0) + 0.02 * rng.standard_normal((15, 64)).astype(np.float32)
    variants /= np.linalg.norm(variants, axis=1, keepdims=True)
    group, means = feature_groups(variants, 0.9)
    assert group.tolist() == [0] * 5 + [1] * 5 + [2] * 5
    assert np.all(np.sum(means * concepts, axis=1) > 0.99)
    assert np.allclose(np.linalg.norm(means, axis=1), 1.0, atol=1e-5)
    group, means = feature_groups(concepts, 0.9)  # one row per label: untouched
    assert group.tolist() == [0, 1, 2] and means is concepts


def test_pairs_are_sorted_by_row_then_key_as_lexsort_sorts_them():
    rng = np.random.default_rng(3)
    for n_rows in (1, 7, 40_000):  # 40,000 rows: past the 16-bit radix path
        keys = rng.integers(-(1 << 62), 1 << 62, size=3000)
        keys[::3] = keys[1::3]  # repeated keys, with the same or other rows
        rows = rng.integers(0, n_rows, size=3000)
        order = np.lexsort((keys, rows))
        sorted_keys, sorted_rows = _sorted_pairs(keys, rows)
        assert np.array_equal(sorted_keys, keys[order]) and np.array_equal(sorted_rows, rows[order])


def _walk(palette_variants: int, feature_noise: float) -> tuple[list[int], EpisodicMemory, np.ndarray]:
    walker = AisleWalker(AisleSpec(length=40.0), 64, 6000, 160, 120, palette_variants=palette_variants,
                         feature_noise=feature_noise, seed=0)
    voxel_map = VoxelMap(MapConfig(feature_dim=64, feature_model="synthetic"))
    memory = EpisodicMemory(EpisodicConfig(), voxel_map.voxel_size)
    counts = []
    for i in range(12):
        frame = walker.frame_at(1.0 + 0.5 * i)
        counts.append(len(frame_segments(frame, voxel_map.voxel_size, InstanceConfig(), memory.structure)[0]))
        memory.record(frame, voxel_map.update(frame), voxel_map, seq=i + 1)
    return counts, memory, walker.concepts


def test_a_vit_like_palette_gives_the_objects_one_row_per_label_gives():
    label_counts, label_memory, _ = _walk(1, 0.0)
    vit_counts, vit_memory, concepts = _walk(12, 0.15)
    assert sum(label_counts) > 0
    assert abs(sum(vit_counts) - sum(label_counts)) <= 0.25 * sum(label_counts)  # not 12 times as many
    n_label, n_vit = len(label_memory.instances), len(vit_memory.instances)
    assert n_label >= 3 and abs(n_vit - n_label) <= max(1, n_label // 4)
    for inst in vit_memory.instances.values():  # each instance's feature is its object's concept
        assert float(np.max(concepts @ inst.feature)) >= 0.95


def test_the_whole_array_union_find_numbers_components_as_scipy_does():
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from mem3d.episodic.instances import _KEY_OFFSETS, _components
    from mem3d.map import keys as voxel_keys

    rng = np.random.default_rng(3)
    for trial in range(40):  # sparse speckle (many components) to dense blobs (few, long chains)
        coords = rng.integers(0, int(rng.integers(3, 30)), (int(rng.integers(1, 1500)), 3))
        cells = np.unique(voxel_keys.pack(coords))
        rows, cols = [], []
        for offset in _KEY_OFFSETS:
            at = np.minimum(np.searchsorted(cells, cells + offset), cells.size - 1)
            hit = np.flatnonzero(cells[at] == cells + offset)
            rows.append(hit)
            cols.append(at[hit])
        graph = coo_matrix((np.ones(sum(r.size for r in rows)), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(cells.size, cells.size))
        expected = connected_components(graph, directed=False)[1]
        assert np.array_equal(_components(cells), expected), trial


def test_the_instance_table_keeps_rows_in_id_order_through_compaction():
    from mem3d.episodic.instances import Instance, InstanceTable

    table = InstanceTable()
    instances = [Instance(i, np.full(4, i, dtype=np.float32), np.empty(0, dtype=np.int64), 0, 0.0, 0.0, 0)
                 for i in range(700)]
    for inst in instances:
        table.put(inst)
    for inst in instances[:600]:  # most end: the next new row compacts the table
        table.forget(inst.id)
    instances[650].status = "gone"
    table.put(instances[650])
    late = Instance(700, np.full(4, 700, dtype=np.float32), np.empty(0, dtype=np.int64), 0, 0.0, 0.0, 0)
    table.put(late)
    present = table.ids[table.rows("present")].tolist()
    assert present == [i for i in range(600, 701) if i != 650]
    assert table.ids[table.rows("gone")].tolist() == [650]
    assert np.all(table.features[table.rows("present"), 0] == np.array(present))
