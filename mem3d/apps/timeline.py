"""Readable timelines of the episodic memory for ``mem3d history`` and ``mem3d changes``: one line per
event (stamp, kind, place, position, keyframe), oldest first."""

from __future__ import annotations

import dataclasses
from enum import Enum

from mem3d.episodic.results import NO_KEYFRAME, NO_PLACE, Event


def event_line(event: Event) -> str:
    """``  12.5 s  moved        place 1 -> place 3  (1.00, 2.00, 0.50)  keyframe 7  (instance 4)``."""
    place = f"place {event.place}" if event.place != NO_PLACE else "-"
    if event.from_place != NO_PLACE:
        place = f"place {event.from_place} -> {place}"
    keyframe = f"keyframe {event.keyframe}" if event.keyframe != NO_KEYFRAME else "no keyframe"
    x, y, z = event.position
    return (f"{event.stamp:8.1f} s  {event.kind.value:<11}  {place:<20}  ({x:.2f}, {y:.2f}, {z:.2f})  "
            f"{keyframe}  (instance {event.instance})")


def as_json(value):
    """A dataclass (or tuple of them) as JSON-ready data, enums by their value."""
    if dataclasses.is_dataclass(value):
        return {f.name: as_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [as_json(v) for v in value]
    return value.value if isinstance(value, Enum) else value
