"""A scripted exploration of the embedded simulator: visit every room and look around in each.

Used by the demo, ``mem3d sim serve --tour`` and tests to observe a whole apartment. The tour is a
plan of actions computed from the nav grid: go-to waypoints about ``step_m`` apart along geodesic
paths between room centres (nearest unvisited room next), then in each room a full turn in place
with the camera pitched down by ``look_down_deg`` (and level again before moving on).

Why pitched down: with the default camera (1.2 m high, 74 degrees of vertical field of view) a level
camera sees the floor only from 1.6 m away, so a small object on the floor near the room centre could
stay unseen through a whole turn. Pitched down 30 degrees, the view spans 67 degrees below to 7 above
the horizon: the floor from 0.5 m out, furniture tops, and everything up to about the camera's height
farther away.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from mem3d.source import Action, ActionKind
from sim.embedded import EmbeddedSimSource


def room_tour(source: EmbeddedSimSource, step_m: float = 1.0, turns_per_room: int | None = None,
              look_down_deg: float = 30.0) -> Iterator[Action]:
    """Actions touring every reachable room of the source's scene from the agent's current pose; each
    room's turn is made looking down by ``look_down_deg`` (rounded to whole look steps; 0 = level)."""
    agent = source.config.agent
    turns = turns_per_room or int(round(360.0 / agent.turn_deg))
    looks = int(round(max(0.0, float(look_down_deg)) / agent.look_deg))
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
        yield from [Action(ActionKind.LOOK_DOWN)] * looks
        yield from [Action(ActionKind.TURN_LEFT)] * turns
        yield from [Action(ActionKind.LOOK_UP)] * looks
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
