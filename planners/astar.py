"""Shortest paths on a cost grid: heap A* to a goal set, a Dijkstra distance field, line-of-sight smoothing.

Grids are (H, W) float64 costs per metre of entering a cell (inf = blocked), cells ``cell_m`` wide,
8-connected; a diagonal step needs both orthogonal neighbours enterable (no corner cutting). A step
costs its length times the cost of the cell entered. Cells are (row, col).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

_SQRT2 = math.sqrt(2.0)


@dataclass(frozen=True)
class GridPath:
    """A path of cells from the start to a goal cell, and its cost (metres times cell costs)."""

    cells: np.ndarray
    """(K, 2) int64 (row, col), start first."""
    cost: float
    expanded: int
    """Cells taken off the heap (search effort)."""


def astar(cost: np.ndarray, start: tuple[int, int], goals: np.ndarray, cell_m: float,
          center: tuple[float, float] | None = None, radius: float = 0.0) -> GridPath | None:
    """The cheapest path from ``start`` to any cell of the (H, W) bool mask ``goals``; None if none is
    reachable. The heuristic is the Euclidean distance (cells) to ``center`` less ``radius``: admissible
    when every goal lies within ``radius`` cells of ``center`` (None = 0, plain Dijkstra). The start
    may be a blocked cell (the robot leaves it)."""
    h, w = cost.shape
    if not (0 <= start[0] < h and 0 <= start[1] < w):
        return None
    # A border of blocked cells spares the bounds checks; flat lists are Python's fastest arrays.
    wp = w + 2
    padded = np.full((h + 2, wp), np.inf)
    padded[1:-1, 1:-1] = cost
    flat_cost = padded.ravel().tolist()
    goal_pad = np.zeros((h + 2, wp), bool)
    goal_pad[1:-1, 1:-1] = goals
    goal_flat = goal_pad.ravel().tolist()
    n = (h + 2) * wp
    inf = math.inf
    best = [inf] * n
    parent = [-1] * n
    closed = bytearray(n)
    start_i = (start[0] + 1) * wp + start[1] + 1
    cy, cx = (float(center[0]) + 1, float(center[1]) + 1) if center is not None else (0.0, 0.0)
    use_h = center is not None
    hypot = math.hypot
    straight, diagonal = cell_m, cell_m * _SQRT2
    # (offset, step length, the two orthogonal offsets a diagonal step must not cut)
    steps = [(-wp, straight, 0, 0), (wp, straight, 0, 0), (-1, straight, 0, 0), (1, straight, 0, 0),
             (-wp - 1, diagonal, -wp, -1), (-wp + 1, diagonal, -wp, 1),
             (wp - 1, diagonal, wp, -1), (wp + 1, diagonal, wp, 1)]
    best[start_i] = 0.0
    heap = [(0.0, 0.0, start_i)]
    push, pop = heapq.heappush, heapq.heappop
    expanded = 0
    while heap:
        _, g, i = pop(heap)
        if closed[i]:
            continue
        closed[i] = 1
        expanded += 1
        if goal_flat[i]:
            chain = [i]
            while parent[chain[-1]] >= 0:
                chain.append(parent[chain[-1]])
            chain.reverse()
            cells = np.array([divmod(k, wp) for k in chain], dtype=np.int64) - 1
            return GridPath(cells, g, expanded)
        for offset, length, side_a, side_b in steps:
            j = i + offset
            step = flat_cost[j]
            if step == inf or closed[j]:
                continue
            if side_a and (flat_cost[i + side_a] == inf or flat_cost[i + side_b] == inf):
                continue
            ng = g + length * step
            if ng < best[j]:
                best[j] = ng
                parent[j] = i
                if use_h:
                    r, c = divmod(j, wp)
                    estimate = hypot(r - cy, c - cx) - radius
                    push(heap, (ng + (estimate * cell_m if estimate > 0 else 0.0), ng, j))
                else:
                    push(heap, (ng, ng, j))
    return None


def grid_graph(cost: np.ndarray, cell_m: float):
    """The grid as a directed sparse graph (CSR): edge i -> j weighs step length times cost[j]."""
    h, w = cost.shape
    index = np.arange(h * w).reshape(h, w)
    ok = np.isfinite(cost)
    rows, cols, weights = [], [], []
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1), (0, -1), (-1, 0), (-1, -1), (-1, 1)):
        r0, r1 = max(0, -dr), h - max(0, dr)
        c0, c1 = max(0, -dc), w - max(0, dc)
        src = (slice(r0, r1), slice(c0, c1))
        dst = (slice(r0 + dr, r1 + dr), slice(c0 + dc, c1 + dc))
        good = ok[dst].copy()
        if dr and dc:
            good &= ok[r0 + dr:r1 + dr, c0:c1] & ok[r0:r1, c0 + dc:c1 + dc]
        rows.append(index[src][good])
        cols.append(index[dst][good])
        weights.append(np.hypot(dr, dc) * cell_m * cost[dst][good])
    r, c, wt = (np.concatenate(x) for x in (rows, cols, weights))
    return coo_matrix((wt, (r, c)), shape=(h * w, h * w)).tocsr()


def distance_field(cost: np.ndarray, start: tuple[int, int], cell_m: float,
                   limit: float = np.inf) -> np.ndarray:
    """(H, W) cost of the cheapest path from ``start`` to every cell (inf = unreachable or beyond
    ``limit``): Dijkstra with scipy's graph tools."""
    h, w = cost.shape
    dist = dijkstra(grid_graph(cost, cell_m), directed=True, indices=start[0] * w + start[1], limit=limit)
    return dist.reshape(h, w)


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
