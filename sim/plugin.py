"""The simulator's sources in the core source registry (``mem3d.source``).

``register()`` is this package's ``mem3d.plugins`` entry point. It imports nothing heavy: the
simulator (open3d) and the episode reader (zarr) are imported when a source is opened.

    sim             the default procedural apartment, toured room by room (unless ``tour`` is off)
    sim:SEED        another procedural apartment; sim:DIR a saved scene, Replica or HM3D scene
    replay:DIR      a recorded episode (``mem3d sim record``)
"""

from __future__ import annotations

from collections.abc import Iterator

from mem3d.errors import InvalidInputError
from mem3d.source import Action, OpenedSource, SourceSpec, register_source


def register() -> None:
    """Add ``sim`` and ``replay`` to the core source registry."""
    register_source("sim", open_sim, "sim[:SEED|DIR]")
    register_source("replay", open_replay, "replay:DIR")


def open_sim(spec: SourceSpec) -> OpenedSource:
    """The embedded simulator on apartment ``spec.argument`` (default seed 0), with a room tour."""
    from sim.embedded import EmbeddedSimSource

    source = EmbeddedSimSource.from_spec(spec.argument or "0")
    return OpenedSource(source, _LazyTour(source) if spec.tour else None)


def open_replay(spec: SourceSpec) -> OpenedSource:
    """A recorded episode played back (no actions: it cannot be driven)."""
    from sim.episode import ReplaySource

    if not spec.argument:
        raise InvalidInputError("replay needs a path: replay:DIR")
    return OpenedSource(ReplaySource(spec.argument))


class _LazyTour:
    """Plans the room tour when iteration starts, i.e. after ``reset`` has placed the agent."""

    def __init__(self, source) -> None:
        self._source = source

    def __iter__(self) -> Iterator[Action]:
        from sim.tour import room_tour

        return room_tour(self._source)
