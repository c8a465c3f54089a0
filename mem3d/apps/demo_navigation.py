"""The demo's navigation stage: go to objects the memory found, with the planner, by honest motion.

Goals are objects the memory found in the demo's questions, chosen spread out over the apartment.
``planners.navigator.Navigator`` reaches each: it asks the memory (``localize``, ``occupancy`` over
ZeroMQ), plans on the memory's traversability grid and drives by ``MOVE_TO`` segments that the
simulator checks against its geometry; ``TracedBody`` refuses a teleport, perceives every view into
the memory and keeps the camera's positions, the path drawn in the report. The simulator's truth only
scores the stop (``NAV_SUCCESS_M`` from the object's box, floor plane). World frame z up, metres.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from mem3d.apps.demo_report import NAV_SUCCESS_M, Answer, NavGoal
from mem3d.errors import InvalidInputError
from mem3d.source import Action, ActionKind, ActionResult
from mem3d.types import Observation

GOAL_VIEWS_GUESS = 30
"""Views a goal takes, for the time-left estimate before the first goal is done."""
STANDOFF_MAX_M = 0.7
"""The planner stops at most this far from the memory's box of the goal (its default is 0.9 m): the
memory's box can reach a few centimetres past the true one, and success is judged at ``NAV_SUCCESS_M``."""


class TracedBody:
    """The navigator's body over a simulator source: actions the simulator checks (a ``GO_TO``
    teleport is refused), each view perceived into the memory before the planner goes on, and the
    camera's (x, y) at each view kept in ``trail`` (world, metres)."""

    def __init__(self, source, perceive: Callable[[Observation], None]) -> None:
        from planners.body import SensedBody

        self.body = SensedBody(source, perceive)
        self.trail: list[tuple[float, float]] = []
        self.views = 0
        self.travelled_m = 0.0
        """Sum of what the simulator reported for each move."""

    def act(self, action: Action) -> ActionResult:
        if action.kind is ActionKind.GO_TO:
            raise InvalidInputError("the demo navigates by checked motion only: GO_TO (a teleport) is refused")
        result = self.body.act(action)
        self.travelled_m += float(result.travelled_m)
        return result

    def look(self) -> Observation:
        obs = self.body.look()
        self.views += 1
        self.trail.append((float(obs.T_world_camera[0, 3]), float(obs.T_world_camera[1, 3])))
        return obs


@dataclass(frozen=True)
class NavigationRun:
    """What the stage did: the goals (as the report shows them), the travelled path and the views."""

    goals: tuple[NavGoal, ...]
    trail: np.ndarray
    """(N, 2) camera x, y at each view, in order (world, metres)."""
    views: int
    seconds: float


def choose_goals(answers: Sequence[Answer], start_xy: np.ndarray, count: int) -> list[str]:
    """Up to ``count`` objects the memory found (and the check found right) among the questions
    asked by name, spread out: each next one the farthest from the start and the ones chosen."""
    found = {a.question: np.asarray(a.position[:2]) for a in answers
             if a.right and a.position is not None and a.expected == f"the {a.question}"}
    chosen: list[str] = []
    anchors = [np.asarray(start_xy, dtype=np.float64)]
    while found and len(chosen) < count:
        far = max(found, key=lambda q: min(float(np.hypot(*(found[q] - a))) for a in anchors))
        chosen.append(far)
        anchors.append(found.pop(far))
    return chosen


def navigate_to_goals(client, source, perceive: Callable[[Observation], None], goals: Sequence[str],
                      max_actions: int, say: Callable[[str], None],
                      after_goal: Callable[[int, float], str] = lambda done, seconds: "") -> NavigationRun:
    """Pursue ``goals`` in turn from where the agent stands, each view perceived into the memory
    behind ``client``; ``after_goal(goals done, seconds of the last)`` adds to each goal's line
    (the time left). Ground truth (``source.truth``) only scores the stops."""
    from mem3d.apps.navigate_cli import progress_line
    from planners.goals import StandoffConfig
    from planners.navigator import NavConfig, Navigator

    bar = tqdm(desc="  navigating", unit="frame", leave=False, disable=None)  # frames/s on terminals

    def perceive_counted(obs: Observation) -> None:
        perceive(obs)
        bar.update()

    body = TracedBody(source, perceive_counted)
    started = time.monotonic()

    def show(progress) -> None:
        rate = body.views / max(time.monotonic() - started, 1e-9)
        bar.clear()
        say(f"  {progress_line(progress)}, {rate:.1f} frames/s")

    config = NavConfig(max_actions_per_goal=max_actions, standoff=StandoffConfig(max_m=STANDOFF_MAX_M))
    navigator = Navigator(body, client, config, show)
    results = []
    try:
        for index, goal in enumerate(goals):
            views = body.views
            bar.set_postfix_str(f"goal {index + 1}/{len(goals)}: {goal}")
            result = scored(source, navigator.pursue(goal, index), body.views - views)
            results.append(result)
            bar.clear()
            say(f"  {'ok ' if result.reached else 'MISS'} {goal}: {result.planner.stop_reason}, stopped "
                f"{result.distance_m:.2f} m from it, {result.path_m:.1f} m travelled, {result.planner.actions} "
                f"actions, {result.views} views in {result.seconds:.0f} s{after_goal(index + 1, result.seconds)}")
    finally:
        bar.close()
    return NavigationRun(tuple(results), np.asarray(body.trail, dtype=np.float64).reshape(-1, 2), body.views,
                         time.monotonic() - started)


def scored(source, report, views: int) -> NavGoal:
    """The planner's ``GoalReport`` scored: reached only if verified and stopped within
    ``NAV_SUCCESS_M`` of a true box of the goal's label."""
    distance = floor_distance_to_label(source, report.goal, np.asarray(report.end_xy))
    return NavGoal(report, report.reached and distance <= NAV_SUCCESS_M, views, round(distance, 3))


def navigation_answer(goal: NavGoal) -> Answer:
    """A goal as a checked answer of the demo (a goal not reached is a wrong answer)."""
    target = goal.planner.target
    return Answer("3 navigate", f"go to the {goal.goal}", f"stop within {NAV_SUCCESS_M:g} m of the {goal.goal}, "
                  "verified by looking", goal.reached, target is not None,
                  None if target is None else tuple(round(v, 3) for v in target), None, goal.distance_m,
                  f"{goal.path_m:.1f} m travelled, {goal.planner.actions} actions, {goal.seconds:.0f} s, planner: "
                  f"{goal.planner.stop_reason}")


def floor_distance_to_label(source, label: str, xy: np.ndarray) -> float:
    """Floor-plane distance from ``xy`` to the nearest true box of an object labelled ``label``
    (the simulator's truth: scoring only)."""
    from planners.goals import box_distance

    boxes = [(t.bbox_min, t.bbox_max) for t in source.truth.objects() if t.label == label]
    return min((float(box_distance(xy, lo, hi)) for lo, hi in boxes), default=float("inf"))


def navigation_picture(view, run: NavigationRun):
    """The top-down ``drawing.Picture`` of the stage: the map as the store holds it, its numbered
    places and edges, the travelled path and where each goal ended."""
    from mem3d.apps.drawing import TrailLayer, draw_top_down
    from mem3d.apps.offline import place_layer

    columns = view.voxel_map.contents().columns
    reached = sum(g.reached for g in run.goals)
    stops = tuple((g.planner.end_xy, f"{g.goal} ({'reached' if g.reached else 'not reached'})") for g in run.goals)
    return draw_top_down(columns["position"], columns["color"], view.voxel_map.voxel_size,
                         title=f"navigate: {reached} of {len(run.goals)} goals reached",
                         places=place_layer(view), trail=TrailLayer(run.trail, stops))
