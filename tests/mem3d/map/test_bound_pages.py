"""The page summary's search finds exactly the voxels a scan of every voxel finds, whatever was written."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.aisle import FLOOR, AisleSpec, AisleWalker, rearrange
from mem3d.map.bound_pages import LINE_SLOTS, PAGE_SLOTS
from mem3d.map.store import VoxelStore
from mem3d.query.localization import _dot_rows, _favourite, check_query, matching_voxels
from mem3d.voxel_map import MapConfig, VoxelMap


def full_scan(store, needed):
    n = store.n
    return np.flatnonzero(store.bound_slack[:n] >= needed[store.code[:n]])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n_codes=st.integers(1, 40), steps=st.integers(1, 8))
def test_candidates_equal_a_scan_of_every_voxel(seed, n_codes, steps):
    rng = np.random.default_rng(seed)
    store = VoxelStore(4)
    for _ in range(steps):
        store.append(int(rng.integers(0, 3 * PAGE_SLOTS)))
        if store.n:  # codes in runs of slots, low slack with a few blends far above it, as maps have
            slots = np.unique(rng.integers(0, store.n, int(rng.integers(1, store.n + 1))))
            codes = (slots // int(rng.integers(LINE_SLOTS, 2 * PAGE_SLOTS)) + rng.integers(0, 3)) % n_codes
            slack = rng.normal(-0.2, 0.05, slots.size) + 0.8 * (rng.random(slots.size) < 0.002)
            store.code[slots], store.bound_slack[slots] = codes, slack
            store.note_search_bounds(slots)
        if store.n and rng.random() < 0.6:
            store.remove(np.unique(rng.integers(0, store.n, int(rng.integers(1, store.n // 2 + 2)))))
        for _ in range(6):
            needed = rng.normal(0.2, 0.3, n_codes).astype(np.float32)
            needed[rng.integers(0, n_codes)] = rng.choice([-1.0, -0.2, 0.0, 0.5])  # one favoured code
            assert np.array_equal(store.bounds.candidates(store.code[:store.n], store.bound_slack[:store.n],
                                                          needed), full_scan(store, needed))


def reference_matches(voxel_map, query, threshold, favourite, favourite_threshold):
    """The scan of every voxel the map did before the page summary (the same rule)."""
    store, codebook = voxel_map.grid.store, voxel_map.codebook
    n = store.n
    codes, slack = store.code[:n], store.bound_slack[:n]
    slots = codebook.candidates(codes, slack, query, threshold)
    if favourite >= 0 and favourite_threshold < threshold:
        own = np.flatnonzero(codes == favourite)
        slots = np.union1d(slots, own[codebook.candidates(codes[own], slack[own], query, favourite_threshold)])
    return slots


def test_a_carved_map_matches_the_same_voxels_as_a_scan_of_every_voxel():
    """The benchmark's aisle, grown, rearranged and swept back (carving moves voxels between slots)."""
    dim = 64
    walker = AisleWalker(AisleSpec(length=60.0), dim, 6000, 160, 120, 70.0, 3, 0.3, 0)
    voxel_map = VoxelMap(MapConfig(feature_dim=dim, feature_model="synthetic"))
    for x in np.arange(0.0, 24.0, 2.0):
        voxel_map.update(walker.frame_at(float(x)))
    rearrange(walker.scene, (14.0, 24.0), 0.5, seed=1)
    removed = 0
    for x in np.arange(22.0, 14.0, -0.5):
        removed += voxel_map.update(walker.frame_at(float(x))).removed.size
    assert len(voxel_map) > 3 * PAGE_SLOTS and removed > 0
    rng = np.random.default_rng(5)
    queries = np.concatenate([walker.concepts + 0.3 * rng.standard_normal(walker.concepts.shape) / np.sqrt(dim),
                              rng.standard_normal((20, dim)), walker.concepts[[FLOOR]]])
    config = voxel_map.config.localize
    matched = 0
    for query in queries:
        query = check_query(query.astype(np.float32), dim)
        favourite = _favourite(voxel_map.codebook.centroids @ query, config)
        for threshold, lower in ((config.threshold, config.threshold - config.margin_reach), (0.3, 0.1), (0.8, 0.9)):
            slots, _ = matching_voxels(voxel_map.grid.store, voxel_map.codebook, query, threshold, favourite, lower)
            candidates = reference_matches(voxel_map, query, threshold, favourite, lower)
            wanted, _ = _exact(voxel_map, candidates, query, threshold, favourite, lower)
            assert np.array_equal(slots, wanted)
            matched += slots.size
    assert matched > 0


def _exact(voxel_map, candidates, query, threshold, favourite, lower):
    store = voxel_map.grid.store
    scores = np.clip(_dot_rows(store.feature, candidates, query) * store.feature_scale[candidates], -1, 1)
    floor = np.where((store.code[candidates] == favourite) & (lower < threshold), lower, threshold)
    keep = scores >= floor.astype(np.float32)
    return candidates[keep], scores[keep]
