"""A frame's segments: palette rows of one thing are grouped, so a ViT-like palette (many noisy
variants of each object's feature) makes the same objects as one row per label."""

import numpy as np

from bench.aisle import AisleSpec, AisleWalker
from mem3d.episodic.config import EpisodicConfig, InstanceConfig
from mem3d.episodic.instances import feature_groups, frame_segments
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
