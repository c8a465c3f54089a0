"""A 2D navigable grid derived from scene geometry and a robot radius; geodesic distances and paths.

Frames: world z up, metres. Cell (row, col) covers x in [x0 + col * cell, x0 + (col + 1) * cell) and
y in [y0 + row * cell, ...). A cell is navigable when there is floor under it, no geometry between
``step_height`` and ``body_height`` above the floor within ``radius`` of it, and it belongs to the
largest connected free region (free pockets inside furniture or outside the building are dropped).
``SceneNavigation`` keeps the grid of a scene that changes (rebuilt on the next query after a change).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from mem3d.errors import InvalidInputError
from sim.config import AgentConfig
from sim.mesh import TriMesh
from sim.scene import Scene

_SHIFT = 4  # cv2 sub-pixel bits when rasterising triangles


@dataclass(frozen=True)
class GeodesicPath:
    """Shortest navigable route between two points."""

    length_m: float
    """Polyline length in metres; ``inf`` when the goal cannot be reached."""
    points: np.ndarray
    """(K, 2) float64 world xy waypoints from start to goal (empty when unreachable)."""

    @property
    def reachable(self) -> bool:
        return bool(np.isfinite(self.length_m))


class NavGrid:
    """Navigable cells of one floor, with straight-line checks and geodesic queries."""

    def __init__(self, navigable: np.ndarray, origin_xy: tuple[float, float], cell_m: float, floor_z: float):
        self.navigable = np.ascontiguousarray(navigable, dtype=bool)
        self.origin = np.asarray(origin_xy, dtype=np.float64)
        self.cell = float(cell_m)
        self.floor_z = float(floor_z)
        self._graph = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_meshes(cls, meshes: Iterable[TriMesh], floor_z: float, config: AgentConfig,
                    bounds: tuple[np.ndarray, np.ndarray]) -> NavGrid:
        """Rasterise world-frame meshes into floor and obstacle masks, then erode by the robot radius."""
        import cv2

        cell = config.cell_m
        lo = np.floor(np.asarray(bounds[0][:2]) / cell) * cell - cell
        size = np.ceil((np.asarray(bounds[1][:2]) - lo) / cell).astype(int) + 2
        floor = np.zeros((size[1], size[0]), np.uint8)
        obstacle = np.zeros_like(floor)
        band = (floor_z + config.step_height_m, floor_z + config.body_height_m)
        for mesh in meshes:
            corners = mesh.vertices[mesh.triangles]  # (M, 3, 3)
            zmin, zmax = corners[..., 2].min(1), corners[..., 2].max(1)
            pixels = np.round((corners[..., :2] - lo) / cell * (1 << _SHIFT) - (1 << (_SHIFT - 1))).astype(np.int32)
            normal = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
            flat = np.abs(normal[:, 2]) > 0.9 * np.linalg.norm(normal, axis=1)
            on_floor = flat & (np.abs(zmax - floor_z) <= config.step_height_m) & (np.abs(zmin - floor_z) <= 0.1)
            blocking = (zmax > band[0]) & (zmin < band[1])
            for mask, image in ((on_floor, floor), (blocking, obstacle)):
                polygons = list(pixels[mask])
                for polygon in polygons:
                    cv2.fillConvexPoly(image, polygon, 1, lineType=cv2.LINE_8, shift=_SHIFT)
                if image is obstacle and polygons:
                    cv2.polylines(image, polygons, True, 1, lineType=cv2.LINE_8, shift=_SHIFT)
        clearance = ndimage.distance_transform_edt(obstacle == 0) * cell
        free = (floor > 0) & (clearance > config.radius_m)
        labels, count = ndimage.label(free, structure=np.ones((3, 3)))
        if count == 0:
            raise InvalidInputError("the scene has no navigable floor for a robot of radius "
                                    f"{config.radius_m} m (is there a floor at z = {floor_z} m?)")
        largest = 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
        return cls(labels == largest, (float(lo[0]), float(lo[1])), cell, floor_z)

    @classmethod
    def from_scene(cls, scene: Scene, config: AgentConfig) -> NavGrid:
        return cls.from_meshes([o.world_mesh() for o in scene], scene.floor_z, config, scene.bounds())

    # ------------------------------------------------------------------ cells and points
    @property
    def shape(self) -> tuple[int, int]:
        return self.navigable.shape  # type: ignore[return-value]

    def to_cell(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols) of world points (..., 2); may lie outside the grid."""
        reach = (max(self.shape) + 1) * self.cell  # far-away points stay outside, without overflow
        xy = np.clip(np.asarray(xy, dtype=np.float64), self.origin - reach, self.origin + reach)
        ij = np.floor((xy - self.origin) / self.cell).astype(np.int64)
        return ij[..., 1], ij[..., 0]

    def cell_center(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return np.stack([self.origin[0] + (np.asarray(cols) + 0.5) * self.cell,
                         self.origin[1] + (np.asarray(rows) + 0.5) * self.cell], axis=-1)

    def is_navigable(self, xy: np.ndarray) -> np.ndarray | bool:
        """Whether world points (..., 2) are navigable (False outside the grid)."""
        rows, cols = self.to_cell(xy)
        inside = (rows >= 0) & (rows < self.shape[0]) & (cols >= 0) & (cols < self.shape[1])
        result = np.zeros(rows.shape, dtype=bool)
        result[inside] = self.navigable[rows[inside], cols[inside]]
        return bool(result) if result.ndim == 0 else result

    def _samples(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = max(2, int(np.ceil(np.linalg.norm(b - a) / (self.cell / 4))) + 1)
        t = np.linspace(0.0, 1.0, n)
        return t, a + t[:, None] * (b - a)

    def segment_free(self, a: np.ndarray, b: np.ndarray) -> bool:
        """Whether the straight segment a -> b (world xy) stays on navigable cells."""
        _, points = self._samples(np.asarray(a, float), np.asarray(b, float))
        return bool(np.all(self.is_navigable(points)))

    def farthest_free(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The farthest point from ``a`` towards ``b`` reachable in a straight line (``a`` if blocked at once)."""
        a, b = np.asarray(a, float), np.asarray(b, float)
        t, points = self._samples(a, b)
        ok = self.is_navigable(points)
        if ok.all():
            return b.copy()
        first_bad = int(np.argmin(ok))
        return points[first_bad - 1].copy() if first_bad > 0 else a.copy()

    def random_point(self, rng: np.random.Generator) -> np.ndarray:
        """A uniformly drawn navigable cell centre (world xy)."""
        rows, cols = np.nonzero(self.navigable)
        k = int(rng.integers(len(rows)))
        return self.cell_center(rows[k], cols[k])

    def snap(self, xy: np.ndarray) -> np.ndarray:
        """The navigable cell centre nearest to ``xy``."""
        rows, cols = np.nonzero(self.navigable)
        centers = self.cell_center(rows, cols)
        return centers[int(np.argmin(np.linalg.norm(centers - np.asarray(xy, float), axis=1)))]

    # ------------------------------------------------------------------ geodesics
    def _build_graph(self):
        h, w = self.shape
        index = np.arange(h * w).reshape(h, w)
        nav = self.navigable

        def shifted(array: np.ndarray, dr: int, dc: int, sr: int, sc: int) -> np.ndarray:
            # window of cells (r, c) that have a neighbour (r + dr, c + dc), moved by (sr, sc)
            r0, c0 = max(0, -dr), max(0, -dc)
            return array[r0 + sr:h - max(0, dr) + sr, c0 + sc:w - max(0, dc) + sc]

        rows, cols, weights = [], [], []
        for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
            ok = shifted(nav, dr, dc, 0, 0) & shifted(nav, dr, dc, dr, dc)
            if dr and dc:  # no corner cutting: both orthogonal neighbours must be free too
                ok &= shifted(nav, dr, dc, dr, 0) & shifted(nav, dr, dc, 0, dc)
            rows.append(shifted(index, dr, dc, 0, 0)[ok])
            cols.append(shifted(index, dr, dc, dr, dc)[ok])
            weights.append(np.full(int(ok.sum()), np.hypot(dr, dc) * self.cell))
        r, c, wts = (np.concatenate(x) for x in (rows, cols, weights))
        self._graph = coo_matrix((wts, (r, c)), shape=(h * w, h * w)).tocsr()
        return self._graph

    def geodesic_path(self, start: np.ndarray, goal: np.ndarray) -> GeodesicPath:
        """Shortest navigable polyline from ``start`` to ``goal`` (world xy, metres).

        Dijkstra on the 8-connected grid, then shortcut with straight-line checks; the polyline runs
        from the exact start to the exact goal, so its length is never below the Euclidean distance.
        Raises ``InvalidInputError`` when an end point is not navigable.
        """
        start, goal = np.asarray(start, float)[:2], np.asarray(goal, float)[:2]
        for name, point in (("start", start), ("goal", goal)):
            if not self.is_navigable(point):
                raise InvalidInputError(f"geodesic {name} {point.tolist()} is not on navigable floor")
        if self.segment_free(start, goal):
            return GeodesicPath(float(np.linalg.norm(goal - start)), np.stack([start, goal]))
        graph = self._graph if self._graph is not None else self._build_graph()
        w = self.shape[1]
        (r0, c0), (r1, c1) = self.to_cell(start), self.to_cell(goal)
        source, target = int(r0 * w + c0), int(r1 * w + c1)
        dist, pred = dijkstra(graph, directed=False, indices=source, return_predecessors=True)
        if not np.isfinite(dist[target]):
            return GeodesicPath(float("inf"), np.empty((0, 2)))
        chain = [target]
        while chain[-1] != source:
            chain.append(int(pred[chain[-1]]))
        cells = np.array(chain[::-1])
        points = np.vstack([start, self.cell_center(cells // w, cells % w)[1:-1], goal])
        return self._shortcut(points)

    def _shortcut(self, points: np.ndarray) -> GeodesicPath:
        kept = [points[0]]
        anchor, last_ok = 0, 1
        for j in range(2, len(points)):
            if not self.segment_free(points[anchor], points[j]):
                kept.append(points[last_ok])
                anchor = last_ok
            last_ok = j
        kept.append(points[-1])
        path = np.array(kept)
        return GeodesicPath(float(np.linalg.norm(np.diff(path, axis=0), axis=1).sum()), path)

    def geodesic_distance(self, start: np.ndarray, goal: np.ndarray) -> float:
        """Length in metres of the shortest navigable path; ``inf`` when unreachable."""
        return self.geodesic_path(start, goal).length_m


class SceneNavigation:
    """Navigation over a scene that may change: its ``NavGrid``, rebuilt when ``scene.version`` moves on,
    and geodesic queries on it (world xy, metres)."""

    def __init__(self, scene: Scene, config: AgentConfig):
        self.scene = scene
        self.config = config
        self._grid: NavGrid | None = None
        self._grid_version = -1

    @property
    def grid(self) -> NavGrid:
        """Navigable grid of the current scene."""
        if self._grid is None or self._grid_version != self.scene.version:
            self._grid = NavGrid.from_scene(self.scene, self.config)
            self._grid_version = self.scene.version
        return self._grid

    def geodesic_path(self, start_xy: Sequence[float], goal_xy: Sequence[float]) -> GeodesicPath:
        """Shortest navigable route (see ``NavGrid.geodesic_path``)."""
        return self.grid.geodesic_path(np.asarray(start_xy, float), np.asarray(goal_xy, float))

    def geodesic_distance(self, start_xy: Sequence[float], goal_xy: Sequence[float]) -> float:
        """Length in metres of the shortest navigable route; ``inf`` when unreachable."""
        return self.geodesic_path(start_xy, goal_xy).length_m
