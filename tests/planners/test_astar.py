"""A* on small grids: the known shortest path, never through an obstacle or a corner; smoothing keeps clear."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from planners import astar as astar_module
from planners.astar import astar, distance_field, segment_clear, smooth

CELL = 0.05


def single(shape, cell) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[cell] = True
    return mask


def assert_valid(path, cost) -> None:
    """Consecutive cells are 8-neighbours, none blocked, and no diagonal cuts a blocked corner."""
    cells = path.cells
    assert np.isfinite(cost[cells[1:, 0], cells[1:, 1]]).all()
    steps = np.diff(cells, axis=0)
    assert (np.abs(steps).max(axis=1) == 1).all()
    for (r, c), (dr, dc) in zip(cells[:-1], steps):
        if dr and dc:
            assert np.isfinite(cost[r + dr, c]) and np.isfinite(cost[r, c + dc])
    length = float(sum(math.hypot(*s) for s in steps)) * CELL
    assert path.cost == pytest.approx(length)  # unit costs: cost = metres


def test_open_grid_straight_and_diagonal_paths_are_the_known_shortest():
    cost = np.ones((10, 12))
    straight = astar(cost, (2, 0), single(cost.shape, (2, 11)), CELL, center=(2, 11))
    assert straight.cost == pytest.approx(11 * CELL) and len(straight.cells) == 12
    diagonal = astar(cost, (0, 0), single(cost.shape, (7, 7)), CELL, center=(7, 7))
    assert diagonal.cost == pytest.approx(7 * math.sqrt(2) * CELL)
    knight = astar(cost, (0, 0), single(cost.shape, (3, 9)), CELL, center=(3, 9))
    assert knight.cost == pytest.approx((3 * math.sqrt(2) + 6) * CELL)  # octile distance
    assert_valid(knight, cost)


def test_a_wall_with_a_door_forces_the_detour_and_is_never_crossed():
    cost = np.ones((9, 9))
    cost[:, 4] = np.inf
    cost[7, 4] = 1.0  # the door, near the bottom
    path = astar(cost, (1, 1), single(cost.shape, (1, 7)), CELL, center=(1, 7))
    assert_valid(path, cost)
    assert [4 for r, c in path.cells if c == 4] and all(r == 7 for r, c in path.cells if c == 4)
    # 1,1 -> 6,3 diagonal-ish, through the door (no corner cutting at its jambs), up to 1,7
    field = distance_field(cost, (1, 1), CELL)
    assert path.cost == pytest.approx(field[1, 7])
    cost[7, 4] = np.inf  # door shut: unreachable
    assert astar(cost, (1, 1), single(cost.shape, (1, 7)), CELL) is None
    assert np.isinf(distance_field(cost, (1, 1), CELL)[1, 7])


def test_a_star_matches_dijkstra_on_random_grids_and_goal_sets():
    rng = np.random.default_rng(3)
    for _ in range(25):
        cost = np.where(rng.random((15, 18)) < 0.25, np.inf, rng.choice([1.0, 3.0], (15, 18)))
        cost[0, 0] = 1.0
        goals = rng.random(cost.shape) < 0.02
        field = distance_field(cost, (0, 0), CELL)
        best = field[goals].min(initial=np.inf)
        path = astar(cost, (0, 0), goals, CELL)  # no heuristic: plain Dijkstra to the set
        if not np.isfinite(best):
            assert path is None
            continue
        assert path.cost == pytest.approx(best) and goals[tuple(path.cells[-1])]
        assert np.isfinite(cost[path.cells[1:, 0], path.cells[1:, 1]]).all()
        target = tuple(path.cells[-1])
        guided = astar(cost, (0, 0), single(cost.shape, target), CELL, center=target)
        assert guided.cost == pytest.approx(field[target])  # the heuristic keeps it optimal
        assert guided.expanded <= astar(cost, (0, 0), single(cost.shape, target), CELL).expanded


def scipy_field(cost: np.ndarray, start: tuple[int, int], cell_m: float) -> np.ndarray:
    """An independent shortest-path field: the grid's rules as a sparse graph, scipy's Dijkstra."""
    h, w = cost.shape
    index = np.arange(h * w).reshape(h, w)
    ok = np.isfinite(cost)
    rows, cols, weights = [], [], []
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if not (dr or dc):
                continue
            for r in range(h):
                for c in range(w):
                    r2, c2 = r + dr, c + dc
                    if not (0 <= r2 < h and 0 <= c2 < w) or not ok[r2, c2]:
                        continue
                    if dr and dc and not (ok[r + dr, c] and ok[r, c + dc]):
                        continue  # no corner cutting
                    rows.append(index[r, c])
                    cols.append(index[r2, c2])
                    weights.append(math.hypot(dr, dc) * cell_m * cost[r2, c2])
    graph = coo_matrix((weights, (rows, cols)), shape=(h * w, h * w)).tocsr()
    return dijkstra(graph, directed=True, indices=start[0] * w + start[1]).reshape(h, w)


def test_a_star_and_the_field_match_an_independent_shortest_path():
    """A* to single goals and to goal disks (with the heuristic), and the Dijkstra field, against
    scipy's Dijkstra on the same rules; costs 1 / 3 / 30 as the planning grid makes them."""
    rng = np.random.default_rng(11)
    for trial in range(12):
        shape = (14 + trial, 20)
        cost = rng.choice([1.0, 1.0, 3.0, 30.0], shape)
        cost[rng.random(shape) < 0.2] = np.inf
        start = (1, 1)
        reference = scipy_field(cost, start, CELL)
        assert np.allclose(distance_field(cost, start, CELL), reference)
        limited = distance_field(cost, start, CELL, limit=0.4)
        assert np.allclose(limited[reference <= 0.4], reference[reference <= 0.4])
        assert np.isinf(limited[reference > 0.4]).all()
        for _ in range(4):
            goal = (int(rng.integers(shape[0])), int(rng.integers(shape[1])))
            rr, cc = np.mgrid[:shape[0], :shape[1]]
            disk = np.hypot(rr - goal[0], cc - goal[1]) <= 2.5
            for goals, radius in ((single(shape, goal), 0.0), (disk, 2.5)):
                path = astar(cost, start, goals, CELL, center=goal, radius=radius)
                best = reference[goals].min(initial=np.inf)
                if not np.isfinite(best):
                    assert path is None
                    continue
                assert path.cost == pytest.approx(best)
                steps = np.diff(path.cells, axis=0)
                walked = np.hypot(*steps.T) * CELL * cost[path.cells[1:, 0], path.cells[1:, 1]]
                assert walked.sum() == pytest.approx(path.cost)


def test_the_plain_python_search_gives_what_the_compiled_one_does(monkeypatch):
    """Without numba the same search runs uncompiled: same paths."""
    rng = np.random.default_rng(5)
    cost = np.where(rng.random((16, 16)) < 0.2, np.inf, 1.0)
    cost[0, 0] = 1.0
    goals = single(cost.shape, (15, 15))
    cost[15, 15] = 1.0
    compiled = astar(cost, (0, 0), goals, CELL, center=(15, 15))
    assert compiled is not None
    monkeypatch.setattr(astar_module, "_kernel", lambda: astar_module._search)
    plain = astar(cost, (0, 0), goals, CELL, center=(15, 15))
    assert plain.cost == pytest.approx(compiled.cost) and (plain.cells == compiled.cells).all()
    assert np.allclose(distance_field(cost, (0, 0), CELL), scipy_field(cost, (0, 0), CELL))


def test_smoothing_shortcuts_only_through_clear_cells():
    cost = np.ones((12, 12))
    cost[3:9, 6] = np.inf
    path = astar(cost, (6, 1), single(cost.shape, (6, 10)), CELL, center=(6, 10))
    waypoints = smooth(path.cells, cost)
    assert 2 < len(waypoints) < len(path.cells)
    assert (waypoints[0] == path.cells[0]).all() and (waypoints[-1] == path.cells[-1]).all()
    for a, b in zip(waypoints[:-1], waypoints[1:]):
        assert segment_clear(cost, a, b)
    assert not segment_clear(cost, (6, 1), (6, 10))
