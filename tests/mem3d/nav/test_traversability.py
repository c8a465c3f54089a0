"""The traversability grid: walls blocked, floor free, carved objects freed, kept up to date by updates."""

from __future__ import annotations

import numpy as np
import pytest

from mem3d.errors import InvalidInputError
from mem3d.map import keys as voxel_keys
from mem3d.nav.traversability import (
    FREE,
    INFLATED,
    OCCUPIED,
    UNKNOWN,
    TraversabilityConfig,
    TraversabilityGrid,
)
from mem3d.types import MapUpdate
from tests.helpers.synthetic_room import MUG, frame_of, room_boxes

EMPTY = np.empty(0, np.int64)


def code_at(grid: TraversabilityGrid, x: float, y: float) -> int:
    window = grid.occupancy((x, y, x, y))
    return int(window.codes[0, 0])


def codes_under(grid: TraversabilityGrid, box) -> set[int]:
    """The codes of the cells under a box's footprint."""
    lo, hi = box.min_corner, box.max_corner
    return set(np.unique(grid.occupancy((lo[0], lo[1], hi[0] - 1e-6, hi[1] - 1e-6)).codes).tolist())


def observe_into(voxel_map, grid, scene, concepts, camera, obs_ids) -> None:
    for obs_id in obs_ids:
        grid.apply(voxel_map.update(frame_of(scene, concepts, camera, obs_id)))


def test_the_wall_is_blocked_the_floor_free_and_a_carved_object_free_again(new_map, scene, concepts, camera):
    grid = TraversabilityGrid(new_map.voxel_size)
    observe_into(new_map, grid, scene, concepts, camera, range(3))
    assert code_at(grid, 3.05, 0.0) == OCCUPIED  # the wall at x = 3
    assert code_at(grid, 2.85, 0.0) == INFLATED  # within the robot radius of it
    assert code_at(grid, 0.5, 0.0) == FREE  # floor between the camera and the mug
    old = room_boxes()[MUG]
    assert OCCUPIED in codes_under(grid, old)  # the mug
    assert code_at(grid, 1.5, 5.0) == UNKNOWN  # never in view
    new = old.moved_to((1.5, 1.0, 0.25))
    scene.replace(MUG, new)
    update = new_map.update(frame_of(scene, concepts, camera, 3))
    grid.apply(update)
    assert update.removed.size > 50 and grid.seq == 4
    assert OCCUPIED not in codes_under(grid, old) and FREE in codes_under(grid, old)  # carved, floor seen
    assert OCCUPIED in codes_under(grid, new)  # where it went
    changed = grid.occupancy(since_seq=3)  # the window of what this frame changed
    assert changed.col0 <= int(np.floor(old.min_corner[0] / 0.05)) < changed.col0 + changed.shape[1]
    # Incremental = rebuilt from the map's voxels: never drifts.
    rebuilt = TraversabilityGrid.from_keys(new_map.voxels().keys, new_map.voxel_size)
    np.testing.assert_array_equal(grid.occupancy().codes, rebuilt.occupancy(extent(grid)).codes)


def extent(grid: TraversabilityGrid) -> tuple[float, float, float, float]:
    """The world region (xmin, ymin, xmax, ymax) the grid's arrays cover (cell centres)."""
    h, w = grid.floor.shape
    cell = grid.config.cell_m
    return ((grid.col0 + 0.5) * cell, (grid.row0 + 0.5) * cell, (grid.col0 + w - 0.5) * cell,
            (grid.row0 + h - 0.5) * cell)


def keys_of(cells) -> np.ndarray:
    return voxel_keys.pack(np.asarray(cells, np.int64))


def test_bands_inflation_eviction_and_windows():
    grid = TraversabilityGrid(0.05, TraversabilityConfig(robot_radius_m=0.1))
    floor = [(i, j, 0) for i in range(10) for j in range(10)]   # z centre 0.025: floor
    ceiling = [(i, j, 40) for i in range(10) for j in range(10)]  # 2.0 m: above the body
    post = [(5, 5, k) for k in range(3, 20)]                     # a post 0.15 to 1.0 m high
    grid.apply(MapUpdate(1, 1.0, keys_of(floor + ceiling + post), EMPTY, EMPTY, EMPTY), seq=10)
    whole = grid.occupancy()
    codes = whole.codes
    r, c = 5 - whole.row0, 5 - whole.col0
    assert codes[r, c] == OCCUPIED and codes[r, c + 2] == INFLATED and codes[r, c + 3] == FREE
    assert (codes == OCCUPIED).sum() == 1 and whole.seq == 10 and whole.stamp == 1.0
    assert whole.last_seen[r, c] == 1.0 and whole.last_seen[0, 0] == -np.inf
    nothing_new = grid.occupancy(since_seq=10)
    assert nothing_new.codes.size == 0
    grid.apply(MapUpdate(2, 2.0, EMPTY, EMPTY, EMPTY, keys_of(post)), seq=11)  # evicted
    after = grid.occupancy(since_seq=10)
    assert after.codes.shape == (5, 5) and (after.col0, after.row0) == (3, 3)  # the post and its disk
    assert (after.codes == FREE).all()
    region = grid.occupancy((0.0, 0.0, 0.12, 0.07))
    assert region.codes.shape == (2, 3) and (region.col0, region.row0) == (0, 0)
    with pytest.raises(InvalidInputError, match="region"):
        grid.occupancy((1.0, 0.0, 0.0, 1.0))
    with pytest.raises(InvalidInputError, match="robot_radius_m"):
        TraversabilityConfig(robot_radius_m=-1)
