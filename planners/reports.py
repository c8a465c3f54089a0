"""What a navigation task reports: progress lines while it runs, and per goal and per task at the end
(distances in metres travelled by the body, times in seconds)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """One line of progress: which goal, how far along the planned path, exploring or not."""

    goal_index: int
    goal: str
    actions: int
    travelled_m: float
    distance_left_m: float | None
    """Along the current plan; None while exploring without a plan."""
    exploring: bool
    note: str = ""


@dataclass(frozen=True)
class GoalReport:
    goal: str
    reached: bool
    """Verified by looking at it."""
    stop_reason: str
    """"verified", "exhausted" (nothing reachable left to explore) or "budget"."""
    travelled_m: float
    actions: int
    exploring_actions: int
    time_s: float
    start_xy: tuple[float, float]
    end_xy: tuple[float, float]
    target: tuple[float, float, float] | None
    """Centroid of the verified candidate (world, metres)."""
    wrong_places: int = 0
    """Places memory sent the agent to where looking showed the goal was not (any more)."""


@dataclass(frozen=True)
class TaskReport:
    goals: tuple[GoalReport, ...]

    @property
    def reached(self) -> int:
        return sum(g.reached for g in self.goals)

    @property
    def travelled_m(self) -> float:
        return float(sum(g.travelled_m for g in self.goals))

    @property
    def time_s(self) -> float:
        return float(sum(g.time_s for g in self.goals))

    @property
    def exploration_share(self) -> float:
        """Share of actions spent exploring."""
        actions = sum(g.actions for g in self.goals)
        return float(sum(g.exploring_actions for g in self.goals) / actions) if actions else 0.0

    def summary(self) -> dict:
        return {"goals_reached": self.reached, "goals": len(self.goals), "path_m": round(self.travelled_m, 2),
                "time_s": round(self.time_s, 1), "exploration_share": round(self.exploration_share, 3),
                "per_goal": [{"goal": g.goal, "reached": g.reached, "stop_reason": g.stop_reason,
                              "path_m": round(g.travelled_m, 2), "actions": g.actions,
                              "wrong_places": g.wrong_places} for g in self.goals]}
