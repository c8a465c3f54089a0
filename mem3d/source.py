"""The one protocol every observation source implements (embedded sim, Habitat, ROS 2, replay), and
the registry that opens a source from a short spec such as ``sim:3`` or ``tcp://127.0.0.1:5560``.

The core registers the ``tcp`` and ``ipc`` observation streams; edge packages add their schemes
(``sim``, ``replay``) through the ``mem3d.plugins`` entry point (``mem3d.plugins``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from numbers import Real
from typing import Protocol, runtime_checkable

import numpy as np

from mem3d.errors import InvalidInputError
from mem3d.plugins import load_plugins
from mem3d.types import Observation


class ActionKind(str, Enum):
    """What an agent can be asked to do. Discrete steps follow habitat-lab's action space."""

    MOVE_FORWARD = "move_forward"
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    LOOK_UP = "look_up"
    LOOK_DOWN = "look_down"
    GO_TO = "go_to"
    """Teleport to a reachable target (tours and demos); never in evaluation."""
    MOVE_TO = "move_to"
    """Turn to face (x, y), drive the straight segment there and turn to the target heading; stops where
    the simulator's geometry blocks the segment, as ``MOVE_FORWARD`` does (honest motion)."""
    STOP = "stop"


TARGETED = (ActionKind.GO_TO, ActionKind.MOVE_TO)
"""Action kinds that need a ``target`` (x, y, yaw)."""


@dataclass(frozen=True)
class Action:
    """An action; ``GO_TO`` and ``MOVE_TO`` need ``target`` = (x, y, yaw): world metres and radians
    about +z (the heading to end with)."""

    kind: ActionKind
    target: tuple[float, float, float] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, ActionKind):
            raise InvalidInputError(f"unknown action kind {self.kind!r}")
        name = self.kind.name
        if (self.kind in TARGETED) != (self.target is not None):
            raise InvalidInputError(f"{name} " + ("needs a target (x, y, yaw)" if self.kind in TARGETED
                                                  else "takes no target") + "; only GO_TO and MOVE_TO take one")
        if self.target is not None:  # three real numbers; non-finite ones are unreachable, not malformed
            items = list(self.target) if isinstance(self.target, (tuple, list, np.ndarray)) else []
            if len(items) != 3 or not all(isinstance(v, Real) and not isinstance(v, bool) for v in items):
                raise InvalidInputError(f"{name} needs a target of three numbers (x, y, yaw), got {self.target!r}")
            object.__setattr__(self, "target", tuple(float(v) for v in items))


@dataclass(frozen=True)
class ActionResult:
    """Outcome of ``Source.act``: ``success`` is False when the action was blocked (e.g. a wall)."""

    success: bool
    message: str = ""
    travelled_m: float = 0.0
    """Distance the agent's base actually moved, metres (a teleporting ``GO_TO`` reports its geodesic)."""


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


@dataclass(frozen=True)
class SourceSpec:
    """A parsed ``--source`` string: ``sim:3`` is scheme "sim", argument "3"; ``tcp://h:5560`` is
    scheme "tcp", argument "//h:5560"."""

    text: str
    """The whole spec as given."""
    scheme: str
    argument: str
    """What follows ``scheme:`` ("" when nothing does)."""
    tour: bool
    """Drive the source along its own plan of actions (a room tour), when it has one."""


@dataclass(frozen=True)
class OpenedSource:
    """A source and the actions to drive it with (None = just observe)."""

    source: Source
    actions: Iterable[Action] | None = None


SourceOpener = Callable[[SourceSpec], OpenedSource]


@dataclass(frozen=True)
class SourceEntry:
    opener: SourceOpener
    usage: str
    """How the spec is written, for help and errors: "sim[:SEED|DIR]", "tcp://HOST:PORT"."""


_SOURCES: dict[str, SourceEntry] = {}


def register_source(scheme: str, opener: SourceOpener, usage: str) -> None:
    """Make ``open_source("<scheme>:...")`` call ``opener`` (a second registration of a scheme replaces it).
    ``opener`` imports what it needs when called, so registering stays cheap."""
    _SOURCES[scheme] = SourceEntry(opener, usage)


def available_sources() -> dict[str, str]:
    """Registered scheme -> usage (installed plugins included)."""
    load_plugins()
    return {scheme: entry.usage for scheme, entry in _SOURCES.items()}


def open_source(spec: str, tour: bool = True) -> OpenedSource:
    """The source named by ``spec`` (``sim``, ``sim:3``, ``replay:DIR``, ``tcp://HOST:PORT``, ...).

    Raises ``InvalidInputError`` naming the known schemes when no registered scheme matches."""
    scheme, _, argument = spec.partition(":")
    known = available_sources()
    if scheme not in known:
        listed = ", ".join(known.values())
        raise InvalidInputError(f"unknown source {spec!r}; known sources: {listed}")
    return _SOURCES[scheme].opener(SourceSpec(spec, scheme, argument, tour))


def _open_remote(spec: SourceSpec) -> OpenedSource:
    from mem3d.comms.remote_source import RemoteSource

    return OpenedSource(RemoteSource(spec.text))


register_source("tcp", _open_remote, "tcp://HOST:PORT")
register_source("ipc", _open_remote, "ipc://PATH")
