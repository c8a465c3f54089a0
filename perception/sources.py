"""Open an observation source from a short spec, as ``mem3d perceive --source`` takes it.

    sim             the default procedural apartment, toured room by room
    sim:SEED        another procedural apartment; sim:DIR a saved scene, Replica or HM3D scene
    replay:DIR      a recorded episode (``mem3d sim record``)
    tcp://HOST:PORT an observation stream (``mem3d sim serve``, a robot driver), latest-only
"""

from __future__ import annotations

from collections.abc import Iterable

from mem3d.errors import InvalidInputError
from mem3d.source import Action, Source


def open_source(spec: str, tour: bool = True) -> tuple[Source, Iterable[Action] | None]:
    """The source named by ``spec`` and the actions to drive it with (None = just observe)."""
    kind, _, rest = spec.partition(":")
    if kind == "sim":
        from sim.embedded import EmbeddedSimSource
        from sim.tour import room_tour

        source = EmbeddedSimSource.from_spec(rest or "0")
        return source, (_LazyTour(source, room_tour) if tour else None)
    if kind == "replay":
        from sim.episode import ReplaySource

        if not rest:
            raise InvalidInputError("replay needs a path: replay:DIR")
        return ReplaySource(rest), None
    if kind in ("tcp", "ipc"):
        from mem3d.comms.remote_source import RemoteSource

        return RemoteSource(spec), None
    raise InvalidInputError(f"unknown source {spec!r}; use sim[:SEED|DIR], replay:DIR or tcp://HOST:PORT")


class _LazyTour:
    """Plans the tour when iteration starts, i.e. after ``reset`` has placed the agent."""

    def __init__(self, source, planner) -> None:
        self._source, self._planner = source, planner

    def __iter__(self):
        return iter(self._planner(self._source))
