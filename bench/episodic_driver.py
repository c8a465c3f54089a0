"""The scripted agent of the episodic evaluation: it walks (no teleport) between room centres of the
embedded simulator and looks around in each, yielding an observation every ``step_m`` or so.

Motion is honest: every step is a straight ``MOVE_TO`` segment that the simulator checks against its
geometry (no teleport). The route is planned on the simulator's nav grid, as a scripted tour's would
be; the memory never sees it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from mem3d.source import Action, ActionKind
from mem3d.types import Observation


def advance(source, waypoint: np.ndarray) -> bool:
    """Drive the straight segment from the agent's position to ``waypoint`` (world xy, metres) with one
    ``MOVE_TO``, which the simulator stops where its geometry blocks the segment; False when it did."""
    delta = waypoint - source.state.xy
    heading = float(np.arctan2(delta[1], delta[0]))
    return source.act(Action(ActionKind.MOVE_TO, (float(waypoint[0]), float(waypoint[1]), heading))).success


def walk_to(source, goal: np.ndarray, step_m: float = 0.75) -> Iterator[Observation]:
    """Walk to ``goal`` (xy) along the geodesic, re-planned from where the agent stands at each step;
    an observation after each step. A segment the geometry blocks at once (the agent stands at an
    obstacle's edge) is tried shorter; the walk ends when even short ones go nowhere."""
    stuck = 0
    while stuck < 3:
        here = source.state.xy
        if np.linalg.norm(goal - here) < 0.3:
            return
        path = source.navigation.geodesic_path(here, goal)
        if not path.reachable or len(path.points) < 2:
            return
        if not advance(source, _along(path.points, step_m)) and np.linalg.norm(source.state.xy - here) < 0.01:
            _step_clear(source, goal)
        yield source.observe()
        stuck = stuck + 1 if np.linalg.norm(source.state.xy - here) < 0.01 else 0


def _step_clear(source, goal: np.ndarray, hop_m: float = 0.15) -> None:
    """At an obstacle's edge, where the planned segment is blocked at once: a short hop in the free
    direction (checked on the nav grid first, then by the simulator) that best shortens the way."""
    here, grid = source.state.xy, source.navigation.grid
    best = None
    for angle in np.radians(np.arange(0.0, 360.0, 15.0)):
        end = here + hop_m * np.array([np.cos(angle), np.sin(angle)])
        if grid.segment_free(here, end):
            left = source.navigation.geodesic_distance(end, goal)
            if best is None or left < best[0]:
                best = (left, end)
    if best is not None:
        advance(source, best[1])


def look_around(source, views: int = 12) -> Iterator[Observation]:
    """A full turn in place, ``views`` observations evenly spread."""
    per_view = max(1, int(round(360.0 / source.config.agent.turn_deg / views)))
    for _ in range(views):
        for _ in range(per_view):
            source.act(Action(ActionKind.TURN_LEFT))
        yield source.observe()


def room_goals(source, rooms: Sequence[int] | None = None) -> list[np.ndarray]:
    """Navigable points near the centres of the given rooms (all, by default), in that order."""
    grid = source.navigation.grid
    chosen = range(len(source.scene.rooms)) if rooms is None else rooms
    goals = []
    for index in chosen:
        snapped = grid.snap(np.array(source.scene.rooms[index].center))
        if grid.is_navigable(snapped):
            goals.append(snapped)
    return goals


def tour(source, rooms: Sequence[int] | None = None, views: int = 12, step_m: float = 0.75
         ) -> Iterator[Observation]:
    """Visit the rooms nearest-first (by straight distance), looking around in each."""
    goals = room_goals(source, rooms)
    while goals:
        here = source.state.xy
        goal = goals.pop(int(np.argmin([np.linalg.norm(g - here) for g in goals])))
        yield from walk_to(source, goal, step_m)
        yield from look_around(source, views)


def _along(points: np.ndarray, distance: float) -> np.ndarray:
    """The point ``distance`` metres along a polyline (its end if shorter)."""
    left = distance
    for a, b in zip(points[:-1], points[1:]):
        length = float(np.linalg.norm(b - a))
        if length >= left:
            return a + (b - a) * (left / max(length, 1e-9))
        left -= length
    return points[-1]
