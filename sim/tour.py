"""A scripted exploration of the embedded simulator: visit every room and look around in each.

Used by the demo, ``mem3d sim serve --tour`` and tests to observe a whole apartment. The tour is a
plan of actions computed from the nav grid: go-to waypoints about ``step_m`` apart along geodesic
paths between room centres (nearest unvisited room next), then a full turn in place in each room.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from mem3d.source import Action, ActionKind
from sim.embedded import EmbeddedSimSource


def room_tour(source: EmbeddedSimSource, step_m: float = 1.0, turns_per_room: int | None = None,
              ) -> Iterator[Action]:
    """Actions touring every reachable room of the source's scene from the agent's current pose."""
    turns = turns_per_room or int(round(360.0 / source.config.agent.turn_deg))
    here = source.state.xy
    unvisited = list(_room_centres(source))
    while unvisited:
        distances = [source.navigation.geodesic_distance(here, c) for c in unvisited]
        nearest = int(np.argmin(distances))
        centre = unvisited.pop(nearest)
        if not np.isfinite(distances[nearest]):
            continue  # unreachable from here (a closed room)
        path = source.navigation.geodesic_path(here, centre).points
        for waypoint, heading in _waypoints(path, step_m):
            yield Action(ActionKind.GO_TO, (float(waypoint[0]), float(waypoint[1]), heading))
        for _ in range(turns):
            yield Action(ActionKind.TURN_LEFT)
        here = centre


def _room_centres(source: EmbeddedSimSource) -> Iterator[np.ndarray]:
    grid = source.navigation.grid
    for room in source.scene.rooms:
        centre = np.array([(room.min_xy[0] + room.max_xy[0]) / 2, (room.min_xy[1] + room.max_xy[1]) / 2])
        snapped = grid.snap(centre)
        if grid.is_navigable(snapped) and room.contains(*snapped):
            yield snapped


def _waypoints(path: np.ndarray, step_m: float) -> Iterator[tuple[np.ndarray, float]]:
    """Points every ``step_m`` along a polyline (its end included), each with the travel heading."""
    for a, b in zip(path[:-1], path[1:]):
        length = float(np.linalg.norm(b - a))
        if length < 1e-6:
            continue
        heading = float(np.arctan2(b[1] - a[1], b[0] - a[0]))
        for k in range(1, int(np.ceil(length / step_m)) + 1):
            yield a + (b - a) * min(1.0, k * step_m / length), heading
