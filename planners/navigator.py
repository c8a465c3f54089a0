"""Navigation from memory: a task is a sequence of goals; each is localized in memory, reached along an
A* path on the memory's traversability grid, and verified by looking at it. When memory has nothing,
or what it had turns out wrong (the object moved), the navigator turns around in place (level, then
looking down: turning costs no path) and then explores frontiers until it finds it. A candidate no
path reaches yet is not wrong: it is tried again after the next exploration step.

The navigator sees the world only through a ``Body`` (honest actions and camera views that reach the
memory) and a ``Memory`` (``localize`` and ``occupancy``, e.g. ``mem3d.client.MemoryClient``); it never
reads a simulator's ground truth. Poses come from the observations' ``T_world_camera`` (world z up,
metres, yaw about +z). Motion is by ``MOVE_TO`` segments (straight, stopped by the true geometry) and
turns in place; the distance travelled is what the body reports.

Routes: a ``Router`` splits a long trip into waypoints (the episodic place graph's place-to-place
routes plug in here); the default goes straight for the goal with local planning only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from mem3d.nav.traversability import OccupancyGrid
from mem3d.source import Action, ActionKind, ActionResult
from mem3d.types import Candidate, LocalizeResult, Observation
from planners.approach import grew, may_stop_at, same_object, standoff_mask, step_in, within_reach
from planners.astar import astar, distance_field, smooth
from planners.frontier import FrontierConfig, FrontierMap
from planners.goals import StandoffConfig, box_distance
from planners.grid import CostConfig, PlanningGrid
from planners.reports import GoalReport, Progress, TaskReport


class Body(Protocol):
    """The robot: actions checked by the world, and a camera whose views reach the memory."""

    def act(self, action: Action) -> ActionResult: ...

    def look(self) -> Observation:
        """The current view; the memory has applied it when this returns."""
        ...


class Memory(Protocol):
    """What the navigator asks the memory (``MemoryClient`` has both)."""

    def localize(self, text: str | None = None, embedding=None, top_k: int = 5,
                 threshold: float | None = None) -> LocalizeResult: ...

    def occupancy(self, region: tuple[float, float, float, float] | None = None,
                  since_seq: int = 0) -> OccupancyGrid: ...


class Router(Protocol):
    """Splits a trip into waypoints to reach in turn (world xy, metres), the last one being the goal."""

    def waypoints(self, start_xy: np.ndarray, goal_xy: np.ndarray) -> list[np.ndarray]: ...


class DirectRoute:
    """No place graph: one leg, planned locally."""

    def waypoints(self, start_xy: np.ndarray, goal_xy: np.ndarray) -> list[np.ndarray]:
        return [np.asarray(goal_xy, float)]


@dataclass(frozen=True)
class NavConfig:
    segment_m: float = 1.0
    """Longest straight move before looking again (and replanning if the map changed)."""
    standoff: StandoffConfig = field(default_factory=StandoffConfig)
    costs: CostConfig = field(default_factory=CostConfig)
    frontier: FrontierConfig = field(default_factory=FrontierConfig)
    top_k: int = 5
    wrong_radius_m: float = 0.5
    """A candidate this close to a place found wrong is not tried again."""
    verify_radius_m: float = 0.6
    """Looking verifies the goal when memory then has a fresh candidate this close to the one approached
    (the centroid of either within this of the other's box footprint)."""
    verify_agree: int = 2
    verify_views: int = 4
    """Looking verifies the goal when ``verify_agree`` of at most ``verify_views`` views agree."""
    preview_m: float = 4.0
    """A candidate this near (box footprint) is first looked at from where the robot stands."""
    regrow_m: float = 0.2
    """The standoffs are planned again on the way when the candidate's box grew by more than this."""
    max_approach_plans: int = 6
    look_turns: int = 4
    """Views in a look-around (turns of 360 / look_turns degrees)."""
    look_deg: float = 15.0
    """Camera tilt per LOOK_UP / LOOK_DOWN (the body's)."""
    max_look_steps: int = 3
    look_down_steps: int = 2
    """Tilt steps down for the second turn of a look-around before searching (low things nearby)."""
    max_actions_per_goal: int = 400
    max_travel_per_goal_m: float = 80.0
    max_replans: int = 12
    """Replans of one trip before its target is given up (progress timeout)."""


def pose_of(obs: Observation) -> tuple[np.ndarray, float, float]:
    """(xy, yaw, camera height z) of an observation's camera (yaw of the optical axis about +z)."""
    T = obs.T_world_camera
    return T[:2, 3].copy(), float(math.atan2(T[1, 2], T[0, 2])), float(T[2, 3])


class _OutOfBudgetError(Exception):
    pass


class Navigator:
    """Runs tasks (sequences of goals) through a ``Body`` against a ``Memory``."""

    def __init__(self, body: Body, memory: Memory, config: NavConfig | None = None,
                 on_progress: Callable[[Progress], None] | None = None, router: Router | None = None) -> None:
        self.body, self.memory = body, memory
        self.config = config or NavConfig()
        self.on_progress = on_progress
        self.router = router or DirectRoute()
        self.grid = PlanningGrid(costs=self.config.costs)
        self.frontier = FrontierMap(self.config.frontier)
        self.obs: Observation | None = None
        self._goal = ("", 0)
        self._spent = _Spent()

    # ------------------------------------------------------------------ tasks
    def start(self, obs: Observation) -> None:
        """Begin from ``obs``, a view the memory has already applied (instead of looking first)."""
        self.obs = obs
        self._refresh()

    def run(self, goals: Sequence[str], look_first: bool = True) -> TaskReport:
        """Pursue each goal in turn; a look-around first, so the memory knows the surroundings."""
        if self.obs is None:
            self._look()
        if look_first:
            self._spent = _Spent()
            self._look_around()
        return TaskReport(tuple(self.pursue(goal, i) for i, goal in enumerate(goals)))

    def reset_memory_view(self) -> None:
        """Forget the planner's copy of the grid (after the memory itself was wiped)."""
        self.grid = PlanningGrid(costs=self.config.costs)
        self.frontier = FrontierMap(self.config.frontier)

    def pursue(self, goal: str, index: int = 0) -> GoalReport:
        """Find, reach and verify one goal (see the module docstring)."""
        if self.obs is None:
            self._look()
        self._goal, self._spent = (goal, index), _Spent()
        started, start_xy = time.monotonic(), pose_of(self.obs)[0]
        wrong: list[np.ndarray] = []
        """Places looked at where the goal was not (any more)."""
        deferred: list[np.ndarray] = []
        """Candidates no path reached yet: tried again after the next exploration step."""
        reason, target, looked_here, retried, recheck_from = "budget", None, False, False, 0
        """``wrong[recheck_from:]`` are ruled out: once nothing is left to explore, the places found
        wrong are approached once more (a view from elsewhere may confirm one; the stop is then at the
        likeliest place memory knows rather than wherever the search ran out)."""
        try:
            while True:
                candidate = self._candidate(goal, wrong[recheck_from:] + deferred)
                if candidate is not None:
                    verdict, looked = self._approach(candidate, goal)
                    if verdict is not None:
                        reason, target = "verified", verdict.centroid
                        break
                    (wrong if looked else deferred).append(np.asarray(candidate.centroid[:2]))
                    continue
                if not looked_here:  # turning costs no travel: first look around here, down too
                    looked_here = True
                    self._look_around(exploring=True, down=True)
                    continue
                if self._explore_once(goal, wrong[recheck_from:] + deferred):
                    retried = False
                elif deferred and not retried:  # nothing left to explore: the unreached ones once more
                    retried = True
                elif wrong and not recheck_from:  # and the places found wrong once more
                    recheck_from = len(wrong)
                else:
                    reason = "exhausted"
                    break
                deferred.clear()
        except _OutOfBudgetError:
            pass
        self.body.act(Action(ActionKind.STOP))
        end_xy = pose_of(self.obs)[0]
        return GoalReport(goal, reason == "verified", reason, self._spent.travelled, self._spent.actions,
                          self._spent.exploring, time.monotonic() - started,
                          (float(start_xy[0]), float(start_xy[1])), (float(end_xy[0]), float(end_xy[1])),
                          None if target is None else tuple(float(v) for v in target), len(wrong))

    def explore(self, max_actions: int = 10_000, revisit: bool = False) -> str:
        """Explore until nothing reachable is left ("exhausted") or ``max_actions`` ("budget"); with
        ``revisit``, go only for the places seen longest ago (renewing old views, not the unseen)."""
        self._goal, self._spent = ("", 0), _Spent()
        limit = self.config.max_actions_per_goal
        try:
            self.config = _with_budget(self.config, max_actions)
            while self._explore_once(None, [], revisit):
                pass
            return "exhausted"
        except _OutOfBudgetError:
            return "budget"
        finally:
            self.config = _with_budget(self.config, limit)

    # ------------------------------------------------------------------ memory
    def _candidate(self, goal: str, wrong: list[np.ndarray]) -> Candidate | None:
        for candidate in self.memory.localize(text=goal, top_k=self.config.top_k).candidates:
            xy = np.asarray(candidate.centroid[:2])
            if all(np.hypot(*(xy - w)) > self.config.wrong_radius_m for w in wrong):
                return candidate
        return None

    def _refresh(self) -> None:
        """Bring the planner's grid copy up to the memory's, merging only what changed."""
        window = self.memory.occupancy(since_seq=self.grid.seq)
        if window.seq < self.grid.seq:  # the memory restarted from older state: take all of it
            self.grid = PlanningGrid(self.grid.cell_m, self.config.costs)
            window = self.memory.occupancy()
        self.frontier.update(self.grid, self.grid.merge(window))

    # ------------------------------------------------------------------ acting
    def _act(self, action: Action, exploring: bool) -> ActionResult:
        if self._spent.actions >= self.config.max_actions_per_goal or \
                self._spent.travelled >= self.config.max_travel_per_goal_m:
            raise _OutOfBudgetError
        result = self.body.act(action)
        self._spent.actions += 1
        self._spent.exploring += int(exploring)
        self._spent.travelled += float(result.travelled_m)
        return result

    def _look(self) -> Observation:
        self.obs = self.body.look()
        self._refresh()
        return self.obs

    def _look_around(self, exploring: bool = False, down: bool = False) -> None:
        """Turn once around in place, looking at each of ``look_turns`` headings; with ``down``, turn
        around once more with the camera ``look_down_steps`` tilt steps down (what stands low near it)."""
        xy, yaw, _ = pose_of(self.obs)
        for tilt in ((0, self.config.look_down_steps) if down else (0,)):
            for _ in range(tilt):
                self._act(Action(ActionKind.LOOK_DOWN), exploring)
            for k in range(1, self.config.look_turns + 1):
                heading = yaw + 2 * math.pi * k / self.config.look_turns
                self._act(Action(ActionKind.MOVE_TO, (float(xy[0]), float(xy[1]), heading)), exploring)
                self._look()
            for _ in range(tilt):
                self._act(Action(ActionKind.LOOK_UP), exploring)

    def _report(self, distance_left: float | None, exploring: bool, note: str = "") -> None:
        if self.on_progress is not None:
            goal, index = self._goal
            self.on_progress(Progress(index, goal, self._spent.actions, round(self._spent.travelled, 2),
                                      None if distance_left is None else round(distance_left, 2), exploring, note))

    def _drive(self, goals: np.ndarray, center_xy: np.ndarray, radius_m: float, exploring: bool,
               interrupt: Callable[[], bool] = lambda: False) -> str:
        """Go to any cell of the goal mask (planned again after each segment when the grid changed):
        "arrived", "unreachable", "interrupted" or "stuck" (``max_replans`` used up)."""
        for _ in range(self.config.max_replans):
            xy = pose_of(self.obs)[0]
            start = self.grid.cell(xy)
            if not self.grid.inside(*start):
                self._refresh()
                start = self.grid.cell(xy)
            if goals.shape != self.grid.shape:
                return "unreachable"  # the grid grew under the mask: the caller computes it again
            if goals[start]:
                return "arrived"
            cost = self.grid.cost()
            cr, cc = self.grid.cell(center_xy)
            path = astar(cost, start, goals, self.grid.cell_m, (cr, cc), radius_m / self.grid.cell_m + 1.5)
            if path is None:
                return "unreachable"
            waypoints = self.grid.center(*smooth(path.cells, cost).T)[1:]
            remaining = float(np.linalg.norm(np.diff(np.vstack([xy, waypoints]), axis=0), axis=1).sum())
            self._report(remaining, exploring, "planned")
            version, k = self.grid.version, 0
            while k < len(waypoints):
                here = pose_of(self.obs)[0]
                offset = waypoints[k] - here
                length = float(np.hypot(*offset))
                step = waypoints[k] if length <= self.config.segment_m else \
                    here + offset * (self.config.segment_m / length)
                heading = math.atan2(offset[1], offset[0]) if length > 1e-6 else pose_of(self.obs)[1]
                result = self._act(Action(ActionKind.MOVE_TO, (float(step[0]), float(step[1]), heading)), exploring)
                self._look()
                self.grid.drove(here, pose_of(self.obs)[0])
                if not result.success:
                    ahead = pose_of(self.obs)[0] + self.grid.cell_m * 2 * np.array([math.cos(heading),
                                                                                    math.sin(heading)])
                    self.grid.bump(ahead)
                    self.frontier.update(self.grid, None)
                    break
                if interrupt():
                    return "interrupted"
                if self.grid.version != version:  # the view changed the grid: is the rest still clear?
                    version = self.grid.version
                    if _path_blocked(self.grid, np.vstack([pose_of(self.obs)[0], waypoints[k:]])):
                        break
                if length <= self.config.segment_m:
                    k += 1
            else:
                if goals.shape == self.grid.shape and goals[self.grid.cell(pose_of(self.obs)[0])]:
                    return "arrived"
        return "stuck"

    # ------------------------------------------------------------------ goals
    def _approach(self, candidate: Candidate, goal: str) -> tuple[Candidate | None, bool]:
        """Go to a standoff from the candidate and look at it: (the fresh candidate if memory confirms
        it, whether the place was looked at; False when no path got there or it vanished on the way).
        From near enough it first looks from where it stands (turning costs no path): the box grows
        to what is in view, and a confirmed object within reach needs no step; one confirmed farther
        away is reached by stepping straight in along the sight line (``step_in``). On the way it stops
        as soon as it stands at a standoff of the newest box; when the views at the stop moved the
        box out of reach, it steps up to it once more."""
        target = np.asarray(candidate.centroid[:2])
        for leg in self.router.waypoints(pose_of(self.obs)[0], target)[:-1]:
            self._drive(_disk_mask(self.grid, leg, 1.0), leg, 1.0, exploring=False)
        latest, looked = [candidate], False
        """The memory's newest answer for the object on the way (None: it vanished)."""
        here, _, camera_z = pose_of(self.obs)

        def changed() -> bool:  # it vanished, the robot already stands near it, or its box grew
            fresh = self._near(goal, latest[0], self.config.verify_radius_m, fresh_after=None)
            previous, latest[0] = latest[0], fresh
            return fresh is None or grew(previous, fresh, self.config.regrow_m) or \
                may_stop_at(self.grid, fresh, pose_of(self.obs)[0], self.config.standoff, camera_z)

        if box_distance(here, candidate.bbox_min, candidate.bbox_max) <= self.config.preview_m:
            seen = self._verify(candidate, goal)
            if seen is not None:
                if may_stop_at(self.grid, seen, here, self.config.standoff, camera_z):
                    return seen, True
                latest[0] = seen
                line = step_in(self.grid, seen, here, self.config.standoff)
                if line.any():  # seen from here: straight in along the sight line
                    outcome = self._drive(line, np.asarray(seen.centroid[:2]), self.config.standoff.max_m + 0.6,
                                          exploring=False, interrupt=changed)
                    if latest[0] is None:
                        return None, True
                    if outcome == "arrived" or \
                            may_stop_at(self.grid, latest[0], pose_of(self.obs)[0], self.config.standoff, camera_z):
                        again = self._verify(latest[0], goal)
                        if again is not None and within_reach(self.grid, again, pose_of(self.obs)[0],
                                                              self.config.standoff):
                            return again, True
                        latest[0] = again or latest[0]

        for _ in range(self.config.max_approach_plans):  # the mask is remade when the grid or the box
            # grows or when the plan ends short
            candidate = latest[0]
            mask = standoff_mask(self.grid, candidate, self.config.standoff, camera_z)
            if not mask.any():
                return None, False
            outcome = self._drive(mask, np.asarray(candidate.centroid[:2]), self.config.standoff.max_m + 0.6,
                                  exploring=False, interrupt=changed)
            if latest[0] is None:
                return None, True  # the view on the way carved it: it is not there
            here = pose_of(self.obs)[0]
            if outcome == "interrupted" and not may_stop_at(self.grid, latest[0], here, self.config.standoff,
                                                            camera_z):
                continue  # its box grew: plan for the new one
            close = box_distance(here, latest[0].bbox_min, latest[0].bbox_max) <= self.config.standoff.max_m + 0.3
            if outcome in ("arrived", "interrupted") or close:  # close enough to look, even where the plan
                seen = self._verify(latest[0], goal)  # could not end
                if seen is None or within_reach(self.grid, seen, here, self.config.standoff) or looked:
                    return seen, True
                looked, latest[0] = True, seen  # the near views moved its box away: once more to it
        return None, False

    def _verify(self, candidate: Candidate, goal: str) -> Candidate | None:
        """Face the candidate (tilting the camera towards it) and look until ``verify_agree`` views
        agree: after each, the memory has a fresh candidate near it; at most ``verify_views`` views,
        each tilt (towards it, then one step lower) twice. One view is no proof: a segmenter that
        misnames something once in a while names it so in one view, rarely in two, and the views in
        between give its voxels their right name again. (Nor is a candidate merely surviving a view:
        depth carving spares the voxels of a flat object that lay on a surface, so a moved laptop
        would look still there.) The fresh candidate of the last agreeing view, or None."""
        xy, _, camera_z = pose_of(self.obs)
        offset = np.asarray(candidate.centroid[:2]) - xy
        self._act(Action(ActionKind.MOVE_TO, (float(xy[0]), float(xy[1]), math.atan2(offset[1], offset[0]))),
                  exploring=False)
        distance = max(0.1, float(box_distance(xy, candidate.bbox_min, candidate.bbox_max)) + 0.1)
        pitch = math.degrees(math.atan2(candidate.centroid[2] - camera_z, distance))
        tilt_steps = int(np.clip(round(pitch / self.config.look_deg), -self.config.max_look_steps,
                                 self.config.max_look_steps))
        tilted, agreed, fresh = 0, 0, None
        tilts = [tilt_steps - k // 2 for k in range(self.config.verify_views)]  # t, t, t - 1, t - 1
        for k, wanted in enumerate(tilts):
            while tilted != wanted:
                self._act(Action(ActionKind.LOOK_DOWN if wanted < tilted else ActionKind.LOOK_UP), exploring=False)
                tilted += -1 if wanted < tilted else 1
            seen = self._look()
            now = self._near(goal, candidate, self.config.verify_radius_m, fresh_after=seen.stamp - 1e-6)
            agreed, fresh = (agreed + 1, now) if now is not None else (agreed, fresh)
            if agreed >= self.config.verify_agree or \
                    agreed + len(tilts) - k - 1 < self.config.verify_agree:  # done, or it cannot be any more
                break
        while tilted != 0:
            self._act(Action(ActionKind.LOOK_UP if tilted < 0 else ActionKind.LOOK_DOWN), exploring=False)
            tilted += 1 if tilted < 0 else -1
        return fresh if agreed >= self.config.verify_agree else None

    def _near(self, goal: str, reference: Candidate, radius: float, fresh_after: float | None) -> Candidate | None:
        """Memory's candidate for ``goal`` (seen at or after ``fresh_after``, if given) that is the same
        object as ``reference``: either's centroid within ``radius`` of the other's box footprint."""
        for candidate in self.memory.localize(text=goal, top_k=self.config.top_k).candidates:
            fresh = fresh_after is None or candidate.last_seen >= fresh_after
            if fresh and same_object(candidate, reference, radius):
                return candidate
        return None

    # ------------------------------------------------------------------ exploration
    def _explore_once(self, goal: str | None, wrong: list[np.ndarray], revisit: bool = False) -> bool:
        """Go to the best frontier (or stale area; only those with ``revisit``) and look around there;
        False when none is reachable. Stops early when the memory finds the goal on the way, or when the
        views on the way uncovered the frontier (no need to stand at what was already seen)."""
        xy = pose_of(self.obs)[0]
        start = self.grid.cell(xy)
        targets = self.frontier.targets(self.grid, self.obs.stamp, revisit)
        if not targets or not self.grid.inside(*start):
            return False
        distance = distance_field(self.grid.cost(), start, self.grid.cell_m)
        target = self.frontier.choose(targets, distance)
        if target is None:
            return False
        self._report(float(distance[target.cell]), True, f"exploring a {target.kind} target")

        def found_or_uncovered() -> bool:  # the goal turned up, or the views on the way saw the frontier
            if goal is not None and self._candidate(goal, wrong) is not None:
                return True
            return target.kind == "frontier" and \
                self.frontier.resolved(self.grid, target.xy, self.frontier.config.resolved_radius_m)

        mask = _disk_mask(self.grid, np.asarray(target.xy), 0.3)
        outcome = self._drive(mask, np.asarray(target.xy), 0.3, exploring=True, interrupt=found_or_uncovered)
        if outcome == "interrupted":
            return True
        if outcome != "arrived":
            self.frontier.forbid(target.xy)
            return True
        if target.kind == "frontier":
            self.frontier.forbid(target.xy)  # looked from there: what is left unseen cannot be seen from it
        else:
            self.frontier.forbid(target.xy, self.frontier.config.revisited_radius_m)
        self._look_around(exploring=True)
        return True


@dataclass
class _Spent:
    actions: int = 0
    exploring: int = 0
    travelled: float = 0.0


def _with_budget(config: NavConfig, actions: int) -> NavConfig:
    from dataclasses import replace

    return replace(config, max_actions_per_goal=actions, max_travel_per_goal_m=math.inf)


def _disk_mask(grid: PlanningGrid, xy: np.ndarray, radius_m: float) -> np.ndarray:
    """Enterable cells within ``radius_m`` of ``xy``."""
    r, c = grid.cell(xy)
    k = int(np.ceil(radius_m / grid.cell_m))
    mask = np.zeros(grid.shape, bool)
    r0, r1 = max(0, r - k), min(grid.shape[0], r + k + 1)
    c0, c1 = max(0, c - k), min(grid.shape[1], c + k + 1)
    if r1 <= r0 or c1 <= c0:
        return mask
    rr, cc = np.mgrid[r0:r1, c0:c1]
    near = np.hypot(rr - r, cc - c) <= radius_m / grid.cell_m
    mask[r0:r1, c0:c1] = near & np.isfinite(grid.cost()[r0:r1, c0:c1])
    return mask


def _path_blocked(grid: PlanningGrid, waypoints: np.ndarray) -> bool:
    """Whether a blocked cell now lies on the straight legs between the waypoints."""
    cost = grid.cost()
    for a, b in zip(waypoints[:-1], waypoints[1:]):
        n = max(2, int(np.ceil(np.hypot(*(b - a)) / grid.cell_m * 2)))
        for p in np.linspace(a, b, n):
            r, c = grid.cell(p)
            if grid.inside(r, c) and not np.isfinite(cost[r, c]):
                return True
    return False
