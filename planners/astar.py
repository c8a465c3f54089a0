"""Shortest paths on a cost grid: A* to a goal set, a Dijkstra distance field, line-of-sight smoothing.

Grids are (H, W) float64 costs per metre of entering a cell (inf = blocked), cells ``cell_m`` wide,
8-connected; a diagonal step needs both orthogonal neighbours enterable (no corner cutting). A step
costs its length times the cost of the cell entered. Cells are (row, col).

Both searches run one heap search (``_search``, an indexed binary heap in flat arrays), compiled by
numba when it is installed (the ``nav`` extra: a 400 x 400 grid corner to corner in about 10 ms) and
run as plain Python otherwise (the same code and results, some hundred times slower).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

_SQRT2 = math.sqrt(2.0)
_OCTILE_OVER_EUCLID = math.sqrt(4.0 - 2.0 * _SQRT2)



@dataclass(frozen=True)
class GridPath:
    """A path of cells from the start to a goal cell, and its cost (metres times cell costs)."""

    cells: np.ndarray
    """(K, 2) int64 (row, col), start first."""
    cost: float
    expanded: int
    """Cells taken off the heap (search effort)."""


def _search(cost, goals, start, wp, cy, cx, radius, use_h, cell_m, limit):
    """Heap search on a flat grid padded by a blocked border (row width ``wp``): A* towards ``goals``
    (flat bool; stops at the first goal taken off the heap) when ``use_h``, else Dijkstra. The
    heuristic is the octile distance to (cy, cx) less ``radius`` times 1.0824 (the most an octile
    distance exceeds the Euclidean one), in metres: a lower bound on the path to any cell within
    ``radius`` cells of the centre, since no step costs less than its length. Ties go to the deeper
    cell. Cells dearer than ``limit`` are not expanded. The open set is an indexed binary heap in flat
    arrays (priority, depth, cell by heap slot; each cell's slot), so a cheaper route to an open cell
    moves it up in place rather than pushing a duplicate. Returns (goal index or -1, best costs,
    parents, closed flags, cells expanded)."""
    n = cost.shape[0]
    best = np.full(n, np.inf)
    parent = np.full(n, -1, np.int64)
    closed = np.zeros(n, np.bool_)
    slot = np.full(n, -1, np.int64)
    heap_f = np.empty(n)
    heap_g = np.empty(n)
    heap_cell = np.empty(n, np.int64)
    offsets = (-wp, wp, -1, 1, -wp - 1, -wp + 1, wp - 1, wp + 1)
    side_a = (0, 0, 0, 0, -wp, -wp, wp, wp)
    side_b = (0, 0, 0, 0, -1, 1, -1, 1)
    straight, diagonal = cell_m, cell_m * _SQRT2
    slack = radius * _OCTILE_OVER_EUCLID
    best[start] = 0.0
    heap_f[0], heap_g[0], heap_cell[0], slot[start] = 0.0, 0.0, start, 0
    size = 1
    expanded = 0
    while size > 0:
        i, g = heap_cell[0], heap_g[0]
        if g > limit:
            break
        size -= 1  # take the top off: the last entry sinks from the root
        last_f, last_g, last = heap_f[size], heap_g[size], heap_cell[size]
        p = 0
        while True:
            c = 2 * p + 1
            if c >= size:
                break
            if c + 1 < size and (heap_f[c + 1] < heap_f[c] or (heap_f[c + 1] == heap_f[c]
                                                                and heap_g[c + 1] > heap_g[c])):
                c += 1
            if last_f < heap_f[c] or (last_f == heap_f[c] and last_g >= heap_g[c]):
                break
            heap_f[p], heap_g[p], heap_cell[p] = heap_f[c], heap_g[c], heap_cell[c]
            slot[heap_cell[p]] = p
            p = c
        if size > 0:
            heap_f[p], heap_g[p], heap_cell[p] = last_f, last_g, last
            slot[last] = p
        slot[i] = -1
        closed[i] = True
        expanded += 1
        if goals[i]:
            return i, best, parent, closed, expanded
        for k in range(8):
            j = i + offsets[k]
            step = cost[j]
            if step == np.inf or closed[j]:
                continue
            if k >= 4 and (cost[i + side_a[k]] == np.inf or cost[i + side_b[k]] == np.inf):
                continue
            ng = g + (straight if k < 4 else diagonal) * step
            if ng >= best[j]:
                continue
            best[j] = ng
            parent[j] = i
            f = ng
            if use_h:
                dy, dx = abs(j // wp - cy), abs(j % wp - cx)
                estimate = max(dy, dx) + (_SQRT2 - 1.0) * min(dy, dx) - slack
                if estimate > 0:
                    f += estimate * cell_m
            p = slot[j]  # open already: move up from its slot; else a new slot at the end
            if p < 0:
                p = size
                size += 1
            while p > 0:
                q = (p - 1) >> 1
                if heap_f[q] < f or (heap_f[q] == f and heap_g[q] >= ng):
                    break
                heap_f[p], heap_g[p], heap_cell[p] = heap_f[q], heap_g[q], heap_cell[q]
                slot[heap_cell[p]] = p
                p = q
            heap_f[p], heap_g[p], heap_cell[p] = f, ng, j
            slot[j] = p
    return -1, best, parent, closed, expanded


@functools.cache
def _kernel():
    """``_search`` compiled by numba (cached on disk), or as it is when numba is not installed."""
    try:
        from numba import njit
    except ImportError:
        return _search
    return njit(cache=True, nogil=True)(_search)


def _padded(cost: np.ndarray) -> np.ndarray:
    h, w = cost.shape
    padded = np.full((h + 2, w + 2), np.inf)
    padded[1:-1, 1:-1] = cost
    return padded.ravel()


def astar(cost: np.ndarray, start: tuple[int, int], goals: np.ndarray, cell_m: float,
          center: tuple[float, float] | None = None, radius: float = 0.0) -> GridPath | None:
    """The cheapest path from ``start`` to any cell of the (H, W) bool mask ``goals``; None if none is
    reachable. The heuristic is the Euclidean distance (cells) to ``center`` less ``radius``: admissible
    when every goal lies within ``radius`` cells of ``center`` (None = 0, plain Dijkstra). The start
    may be a blocked cell (the robot leaves it)."""
    h, w = cost.shape
    if not (0 <= start[0] < h and 0 <= start[1] < w):
        return None
    wp = w + 2
    goal_flat = np.zeros((h + 2, wp), np.bool_)
    goal_flat[1:-1, 1:-1] = goals
    cy, cx = (float(center[0]) + 1, float(center[1]) + 1) if center is not None else (0.0, 0.0)
    found, best, parent, _, expanded = _kernel()(
        _padded(np.asarray(cost, np.float64)), goal_flat.ravel(), (start[0] + 1) * wp + start[1] + 1, wp,
        cy, cx, float(radius), center is not None, float(cell_m), np.inf)
    if found < 0:
        return None
    chain = [int(found)]
    while parent[chain[-1]] >= 0:
        chain.append(int(parent[chain[-1]]))
    chain.reverse()
    cells = np.stack(np.divmod(np.asarray(chain, np.int64), wp), axis=1) - 1
    return GridPath(cells, float(best[found]), int(expanded))


def distance_field(cost: np.ndarray, start: tuple[int, int], cell_m: float,
                   limit: float = np.inf) -> np.ndarray:
    """(H, W) cost of the cheapest path from ``start`` to every cell (inf = unreachable or beyond
    ``limit``): Dijkstra over the whole grid."""
    h, w = cost.shape
    wp = w + 2
    _, best, _, closed, _ = _kernel()(
        _padded(np.asarray(cost, np.float64)), np.zeros((h + 2) * wp, np.bool_), (start[0] + 1) * wp + start[1] + 1,
        wp, 0.0, 0.0, 0.0, False, float(cell_m), float(limit))
    return np.where(closed, best, np.inf).reshape(h + 2, wp)[1:-1, 1:-1].copy()


def segment_clear(cost: np.ndarray, a: np.ndarray, b: np.ndarray, max_cost: float = 1.0) -> bool:
    """Whether the straight segment between cell-centre coordinates ``a`` and ``b`` ((row, col) floats)
    stays on cells of cost at most ``max_cost`` (sampled every quarter cell)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    n = max(2, int(np.ceil(np.abs(b - a).max() * 4)) + 1)
    t = np.linspace(0.0, 1.0, n)[:, None]
    pts = np.floor(a + t * (b - a) + 0.5).astype(np.int64)
    h, w = cost.shape
    if (pts < 0).any() or (pts[:, 0] >= h).any() or (pts[:, 1] >= w).any():
        return False
    return bool((cost[pts[:, 0], pts[:, 1]] <= max_cost).all())


def smooth(cells: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Shortcut a cell path: keep a waypoint only where the straight line from the previous kept one
    would leave cells no dearer than those the path itself crosses there. (K, 2) -> (M, 2) cells."""
    if len(cells) <= 2:
        return cells.copy()
    step_cost = cost[cells[:, 0], cells[:, 1]]
    kept = [0]
    anchor = 0
    for j in range(2, len(cells)):
        crossed = step_cost[anchor + 1:j + 1]
        allowed = float(crossed[np.isfinite(crossed)].max(initial=1.0))
        if not segment_clear(cost, cells[anchor], cells[j], allowed):
            kept.append(j - 1)
            anchor = j - 1
    kept.append(len(cells) - 1)
    return cells[kept]
