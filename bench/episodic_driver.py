"""The scripted agent of the episodic evaluation: it walks (no teleport) between room centres of the
embedded simulator and looks around in each, yielding an observation every ``step_m`` or so.

Motion is honest: every step is an action the simulator checks against its geometry. The route is
planned on the simulator's nav grid, as a scripted tour's would be; the memory never sees it. Until
``mem3d.source`` has a straight-segment move (issue 12), ``advance`` turns in ``turn_deg`` steps and
moves forward in ``forward_step_m`` steps (choosing among the reachable headings with the nav grid,
as a planner would); once it has, only ``advance`` changes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from mem3d.source import Action, ActionKind
from mem3d.types import Observation


def advance(source, waypoint: np.ndarray) -> bool:
    """Walk from the agent's position towards ``waypoint`` (world xy, metres) with checked actions;
    False when the geometry stopped the agent.

    Discrete actions reach only headings in ``turn_deg`` steps: of those, the one whose straight
    run of forward steps ends nearest the waypoint over free floor is taken."""
    agent = source.config.agent
    here, yaw = source.state.xy, source.state.yaw
    n_forward = max(1, int(round(float(np.linalg.norm(waypoint - here)) / agent.forward_step_m)))
    best = None
    for k in range(-int(180 // agent.turn_deg), int(180 // agent.turn_deg) + 1):
        heading = yaw + np.radians(k * agent.turn_deg)
        end = here + n_forward * agent.forward_step_m * np.array([np.cos(heading), np.sin(heading)])
        if source.navigation.grid.segment_free(here, end):
            miss = float(np.linalg.norm(end - waypoint)) + 1e-3 * abs(k)
            if best is None or miss < best[0]:
                best = (miss, k)
    if best is None:
        return False
    kind = ActionKind.TURN_LEFT if best[1] > 0 else ActionKind.TURN_RIGHT
    for _ in range(abs(best[1])):
        source.act(Action(kind))
    for _ in range(n_forward):
        if not source.act(Action(ActionKind.MOVE_FORWARD)).success:
            return False
    return True


def walk_to(source, goal: np.ndarray, step_m: float = 0.75) -> Iterator[Observation]:
    """Walk to ``goal`` (xy) along the geodesic, re-planned from where the agent stands at each step;
    an observation after each step."""
    stuck = 0
    while stuck < 3:
        here = source.state.xy
        if np.linalg.norm(goal - here) < 0.3:
            return
        path = source.navigation.geodesic_path(here, goal)
        if not path.reachable or len(path.points) < 2:
            return
        waypoint = _along(path.points, step_m)
        advance(source, waypoint)
        yield source.observe()
        stuck = stuck + 1 if np.linalg.norm(source.state.xy - here) < 1e-3 else 0


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
