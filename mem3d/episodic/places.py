"""Places: nodes over the ground the camera has covered, linked by the paths it travelled.

A camera position farther than ``radius_m`` (horizontally) from every place founds a new place there;
every observation belongs to the nearest place. Two places are linked only when consecutive
observations went from one to the other (a step shorter than ``max_step_m``), with the length of
that path between their centres (centre -> last position in the first, the step, first position in
the second -> centre; the shortest one seen). World frame z up, metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from mem3d.episodic.config import PlaceConfig
from mem3d.episodic.results import NO_PLACE, Route
from mem3d.errors import InvalidInputError


@dataclass
class Place:
    id: int
    center: np.ndarray
    """(3,) the founding camera position."""
    lo: np.ndarray
    hi: np.ndarray
    """(3,) box of the camera positions assigned to it."""
    last_visited: float
    keyframes: list[int] = field(default_factory=list)
    instances: dict[int, float] = field(default_factory=dict)
    """Instance id -> when it was last seen from here."""
    visits: int = 0
    """How many times the camera entered it (1: the first visit is still going on)."""

    @property
    def name(self) -> str:
        return f"place {self.id}"


class PlaceGraph:
    """The places and their travelled edges."""

    def __init__(self, config: PlaceConfig) -> None:
        self.config = config
        self.places: list[Place] = []
        self.edges: dict[tuple[int, int], float] = {}
        """(a, b) with a < b -> shortest travelled path length between the centres, metres."""
        self.current = NO_PLACE
        self.last_position: np.ndarray | None = None
        """The previous observation's camera position."""
        self._centers = np.empty((0, 2))

    def __len__(self) -> int:
        return len(self.places)

    def observe(self, position: np.ndarray, stamp: float) -> int:
        """Assign a camera position (3,) at ``stamp`` to its place (founding one if needed); its id."""
        position = np.asarray(position, dtype=np.float64)
        nearest, distance = self.nearest(position)
        if nearest == NO_PLACE or distance > self.config.radius_m:
            nearest = self._found(position, stamp)
        step = 0.0 if self.last_position is None else float(np.linalg.norm(position - self.last_position))
        proven = self.last_position is not None and step <= self.config.max_step_m
        if proven and nearest != self.current and self.current != NO_PLACE:
            a, b = self.places[self.current], self.places[nearest]
            length = (float(np.linalg.norm(self.last_position - a.center)) + step
                      + float(np.linalg.norm(position - b.center)))
            self._link(self.current, nearest, length)
        place = self.places[nearest]
        if nearest != self.current:
            place.visits += 1
        self.current, self.last_position = nearest, position
        place.lo, place.hi = np.minimum(place.lo, position), np.maximum(place.hi, position)
        place.last_visited = float(stamp)
        return nearest

    def nearest(self, position: np.ndarray) -> tuple[int, float]:
        """(id, horizontal distance in metres) of the place nearest to a position; (-1, inf) if none."""
        if not self.places:
            return NO_PLACE, float("inf")
        d = np.linalg.norm(self._centers - np.asarray(position, dtype=np.float64)[:2], axis=1)
        i = int(np.argmin(d))
        return i, float(d[i])

    def distances(self, xy: np.ndarray) -> np.ndarray:
        """(N,) horizontal distance (metres) of each point of (N, 2) ``xy`` to its nearest place."""
        if not self.places:
            return np.full(xy.shape[0], np.inf)
        from scipy.spatial import cKDTree

        return cKDTree(self._centers).query(xy, k=1)[0]

    def within(self, xy: np.ndarray, radius: float) -> np.ndarray:
        """Ids (ascending) of the places within ``radius`` metres (horizontally) of ``xy`` (2,)."""
        return np.flatnonzero(np.linalg.norm(self._centers - np.asarray(xy, dtype=np.float64)[:2], axis=1) <= radius)

    def distances_from(self, ids: np.ndarray, xy: np.ndarray) -> np.ndarray:
        """Horizontal distance (metres) from ``xy`` (2,) to each of the places ``ids``."""
        return np.linalg.norm(self._centers[ids] - np.asarray(xy, dtype=np.float64)[:2], axis=1)

    def require(self, place: int) -> Place:
        if not isinstance(place, int) or not 0 <= place < len(self.places):
            raise InvalidInputError(f"no place {place!r}: the memory has places 0 to {len(self.places) - 1}")
        return self.places[place]

    def route(self, a: int, b: int) -> Route:
        """The shortest travelled route from place ``a`` to place ``b``."""
        self.require(a)
        self.require(b)
        if a == b:
            return Route(found=True, places=(a,), length_m=0.0)
        n = len(self.places)
        if not self.edges:
            return Route(found=False, places=(), length_m=0.0)
        pairs = np.array(list(self.edges), dtype=np.int64)
        lengths = np.array(list(self.edges.values()))
        graph = coo_matrix((lengths, (pairs[:, 0], pairs[:, 1])), shape=(n, n)).tocsr()
        distance, predecessors = dijkstra(graph, directed=False, indices=a, return_predecessors=True)
        if not np.isfinite(distance[b]):
            return Route(found=False, places=(), length_m=0.0)
        path = [b]
        while path[-1] != a:
            path.append(int(predecessors[path[-1]]))
        return Route(found=True, places=tuple(reversed(path)), length_m=float(distance[b]))

    def restore(self, places: list[Place], edges: dict[tuple[int, int], float], current: int,
                last_position: np.ndarray | None) -> None:
        """Take over saved places and edges (``mem3d.episodic.state``)."""
        self.places, self.edges, self.current, self.last_position = places, edges, current, last_position
        self._centers = np.array([p.center[:2] for p in places], dtype=np.float64).reshape(-1, 2)

    def _found(self, position: np.ndarray, stamp: float) -> int:
        place = Place(len(self.places), position.copy(), position.copy(), position.copy(), float(stamp))
        self.places.append(place)
        self._centers = np.vstack([self._centers, position[None, :2]])
        return place.id

    def _link(self, a: int, b: int, length: float) -> None:
        key = (min(a, b), max(a, b))
        self.edges[key] = min(self.edges.get(key, np.inf), max(length, 1e-6))
