"""How one exploration trip behaves on the way to its target: when it ends early, and when the robot
stops to look around.

A trip ends early when the memory finds the goal, when the views on the way uncovered the frontier it
was heading for, or when the robot's motion was blocked ``max_blocked`` times (a door frame or a gap
narrower than the map shows: trying the same opening again and again costs path for nothing). On the
way it turns around in place every ``look_every_m`` metres travelled: turning costs no path, and the
camera otherwise looks only along the path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ExplorationConfig:
    look_every_m: float = 0.0
    """Look around after this many metres of an exploration trip (0 = only at its end)."""
    max_blocked: int = 0
    """Blocked moves after which an exploration trip is given up (0 = never)."""
    blocked_radius_m: float = 1.2
    """A trip given up for blocked motion rules out targets this close to its target."""


@dataclass
class Trip:
    """The state of one exploration trip; ``step()`` is the drive's interrupt, called after each move."""

    config: ExplorationConfig
    found: Callable[[], bool]
    """The goal turned up in memory, or the target was uncovered."""
    look_around: Callable[[], None]
    travelled: Callable[[], float]
    """Metres travelled so far (a running total)."""
    blocked: Callable[[], int]
    """Blocked moves so far (a running total)."""

    def __post_init__(self) -> None:
        self.start_blocked = self.blocked()
        self.last_look_m = self.travelled()
        self.gave_up = False

    def step(self) -> bool:
        """Whether the trip ends here (``gave_up`` says when that is for blocked motion)."""
        if self.config.max_blocked and self.blocked() - self.start_blocked >= self.config.max_blocked:
            self.gave_up = True
            return True
        if self.found():
            return True
        if self.config.look_every_m > 0 and self.travelled() - self.last_look_m >= self.config.look_every_m:
            self.last_look_m = self.travelled()
            self.look_around()
            return self.found()
        return False
