import numpy as np

from mem3d.map import keys as voxel_keys
from mem3d.map.grid import VoxelGrid


def assert_consistent(grid: VoxelGrid) -> None:
    """Every live voxel is found at its own slot, and block counts match their tables."""
    n = len(grid)
    keys = grid.store.key[:n]
    assert np.array_equal(grid.lookup(voxel_keys.unpack(keys)), np.arange(n))
    rows = grid.blocks.active_rows()
    assert np.array_equal((grid.blocks.slots[rows] >= 0).sum(axis=1), grid.blocks.count[rows])
    assert int(grid.blocks.count[rows].sum()) == n
    assert len(grid.blocks) == rows.size


def test_random_adds_and_removes_keep_store_and_blocks_consistent():
    rng = np.random.default_rng(1)
    grid = VoxelGrid(0.05, feature_dim=4, capacity=8)
    present: set[tuple[int, int, int]] = set()
    for _ in range(40):
        candidates = {tuple(c) for c in rng.integers(-20, 20, size=(200, 3)).tolist()} - present
        new = np.array(sorted(candidates), dtype=np.int64)
        grid.add(new)
        present |= candidates
        victims = grid.lookup(new[rng.random(new.shape[0]) < 0.5])
        removed = grid.remove(victims)
        present -= {tuple(c) for c in voxel_keys.unpack(removed).tolist()}
        assert_consistent(grid)
        assert len(grid) == len(present)
    absent = np.array([[100, 100, 100]])
    assert grid.lookup(absent).tolist() == [-1]


def test_removing_every_voxel_frees_every_block():
    grid = VoxelGrid(0.05, feature_dim=4)
    coords = np.array([[0, 0, 0], [9, 0, 0], [-9, 3, 1]])
    slots = grid.add(coords)
    assert len(grid.blocks) == 3
    grid.remove(slots)
    assert len(grid) == 0 and len(grid.blocks) == 0


def test_new_voxels_in_reused_slots_start_from_zero():
    grid = VoxelGrid(0.05, feature_dim=4)
    slots = grid.add(np.array([[0, 0, 0], [1, 0, 0]]))
    grid.store.weight[slots] = 7.0
    grid.store.position[slots] = 3.0
    grid.remove(slots)
    reused = grid.add(np.array([[5, 5, 5]]))
    assert grid.store.weight[reused].tolist() == [0.0]
    assert grid.store.position[reused].tolist() == [[0.0, 0.0, 0.0]]


def test_growing_a_chunk_at_a_time_keeps_every_row_and_refuses_changes_meanwhile():
    import pytest

    grid = VoxelGrid(0.05, feature_dim=4, capacity=8)
    rng = np.random.default_rng(1)
    slots = grid.add(np.unique(rng.integers(-50, 50, size=(40, 3)), axis=0))
    store = grid.store
    store.feature[slots] = rng.integers(-127, 127, size=(slots.size, 4), dtype=np.int8)
    before = {c.name: store.live(c.name).copy() for c in store.columns}
    growth = store.begin_growth(store.n + 100)
    assert growth is not None and store.begin_growth(store.n) is None
    capacity, steps = store.capacity, 0
    while not growth.step(rows=7):  # the store answers reads between steps, from its old columns
        steps += 1
        assert store.live("key").shape[0] == slots.size and store.capacity == capacity
    assert steps == (slots.size - 1) // 7
    assert store.capacity >= slots.size + 100  # the copy became the columns with its last step
    for name, values in before.items():
        assert np.array_equal(store.live(name), values), name
    assert np.array_equal(grid.lookup(voxel_keys.unpack(store.live("key"))), np.arange(store.n))
    stale = store.begin_growth(store.capacity + 1)
    grid.add(np.array([[99, 99, 99]]))  # the store changes before the copy is done
    with pytest.raises(RuntimeError, match="changed"):
        stale.step()


def test_appended_rows_start_from_zero_after_removals_and_after_growing_by_a_copy():
    grid = VoxelGrid(0.05, feature_dim=4, capacity=4)
    slots = grid.add(np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0]]))
    data = [c.name for c in grid.store.columns if c.name != "key"]
    for name in data:
        grid.store.array(name)[slots] = 1
    grid.remove(slots[1:])  # two stale rows beyond the live one
    fresh = grid.add(np.array([[5, 5, 5], [6, 6, 6], [7, 7, 7], [8, 8, 8], [9, 9, 9]]))  # grows by a copy
    assert grid.store.capacity >= 6
    for name in data:
        assert not grid.store.array(name)[fresh].any(), name
        assert grid.store.array(name)[slots[0]].all(), name  # the live voxel kept its data
    assert_consistent(grid)
