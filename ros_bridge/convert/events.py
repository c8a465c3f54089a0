"""Episodic events -> the JSON text of the bridge's ``std_msgs/String`` event stream."""

from __future__ import annotations

import dataclasses
import json
from enum import Enum


def event_json(event) -> str:
    """One ``mem3d.episodic.results.Event`` as a JSON object: ``kind`` ("appeared", "moved",
    "disappeared", ...), ``instance``, ``stamp`` (s), ``obs_id``, ``place``, ``position`` (world m),
    ``keyframe`` (-1 none), and for ``moved`` ``from_place`` and ``from_position``."""
    fields = {name: value.value if isinstance(value, Enum) else value
              for name, value in dataclasses.asdict(event).items()}
    return json.dumps(fields)
