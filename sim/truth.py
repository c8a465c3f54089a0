"""Ground truth of the embedded simulator: where every object is, and which objects a view shows.

World frame: z up, metres (REP-103).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mem3d.errors import InvalidInputError
from mem3d.types import Observation
from sim.scene import Scene


@dataclass(frozen=True)
class ObjectTruth:
    """Ground truth of one object at one moment (world frame, metres)."""

    instance_id: int
    label: str
    semantic_id: int
    T_world_object: np.ndarray
    """(4, 4) float64 pose of the object (a copy: it does not follow later moves)."""
    bbox_min: np.ndarray
    bbox_max: np.ndarray
    room: str
    description: str = ""
    """A few words describing the category ("cup" for a mug; "" if it has none)."""


class GroundTruth:
    """Reads the ground truth of one scene as it is at the moment of asking."""

    def __init__(self, scene: Scene):
        self.scene = scene

    def objects(self) -> list[ObjectTruth]:
        """Every furniture piece and small object as it is now, by instance id."""
        truths = []
        for obj in sorted(self.scene.labelled_objects(), key=lambda o: o.instance_id):
            lo, hi = obj.world_bounds()
            truths.append(ObjectTruth(obj.instance_id, obj.label, self.scene.categories[obj.label],
                                      obj.T_world_object.copy(), lo, hi, obj.room, obj.description))
        return truths

    @staticmethod
    def visible_instances(obs: Observation, min_pixels: int = 1) -> dict[int, int]:
        """Instance id -> pixel count for the objects visible in ``obs`` (at least ``min_pixels``)."""
        if obs.instance is None:
            raise InvalidInputError("this observation carries no instance image")
        ids, counts = np.unique(obs.instance, return_counts=True)
        return {int(i): int(c) for i, c in zip(ids, counts) if i and c >= min_pixels}
