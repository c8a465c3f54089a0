"""The one protocol every observation source implements: embedded sim, Habitat, ROS 2, replay."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from numbers import Real
from typing import Protocol, runtime_checkable

import numpy as np

from mem3d.errors import InvalidInputError
from mem3d.types import Observation


class ActionKind(str, Enum):
    """What an agent can be asked to do. Discrete steps follow habitat-lab's action space."""

    MOVE_FORWARD = "move_forward"
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    LOOK_UP = "look_up"
    LOOK_DOWN = "look_down"
    GO_TO = "go_to"
    STOP = "stop"


@dataclass(frozen=True)
class Action:
    """An action; ``GO_TO`` needs ``target`` = (x, y, yaw): world metres and radians about +z."""

    kind: ActionKind
    target: tuple[float, float, float] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, ActionKind):
            raise InvalidInputError(f"unknown action kind {self.kind!r}")
        if (self.kind is ActionKind.GO_TO) != (self.target is not None):
            raise InvalidInputError("GO_TO needs a target (x, y, yaw); other actions take none")
        if self.target is not None:  # three real numbers; non-finite ones are unreachable, not malformed
            items = list(self.target) if isinstance(self.target, (tuple, list, np.ndarray)) else []
            if len(items) != 3 or not all(isinstance(v, Real) and not isinstance(v, bool) for v in items):
                raise InvalidInputError(f"GO_TO needs a target of three numbers (x, y, yaw), got {self.target!r}")
            object.__setattr__(self, "target", tuple(float(v) for v in items))


@dataclass(frozen=True)
class ActionResult:
    """Outcome of ``Source.act``: ``success`` is False when the action was blocked (e.g. a wall)."""

    success: bool
    message: str = ""


@runtime_checkable
class Source(Protocol):
    """A stream of posed RGB-D observations that may also accept actions."""

    def reset(self, seed: int | None = None) -> Observation:
        """Start an episode and return its first observation."""

    def observe(self) -> Observation:
        """Return the observation at the current state (a new ``obs_id`` each call)."""

    def act(self, action: Action) -> ActionResult:
        """Apply an action; sources that cannot act (replay, passive ROS) return success=False."""

    def close(self) -> None:
        """Release every resource (windows, files, sockets, processes)."""
