"""Simulator frames for the bridge tests (ground truth only scores the answers)."""

import numpy as np
import pytest

NEAR_M = 0.5
"""A candidate is right when its centroid is this close to the target's box."""


@pytest.fixture(scope="package")
def toured():
    """24 frames of the default apartment's room tour at 160x120, and the object seen most in them."""
    from sim.config import CameraConfig, SimConfig
    from sim.embedded import EmbeddedSimSource
    from sim.tour import room_tour

    sim = EmbeddedSimSource(config=SimConfig(camera=CameraConfig(width=160, height=120)))
    frames, seen = [sim.reset(0)], {}
    for action in list(room_tour(sim))[:23]:
        sim.act(action)
        frames.append(sim.observe())
    for obs in frames:
        for instance, pixels in sim.truth.visible_instances(obs).items():
            seen[instance] = seen.get(instance, 0) + pixels
    truths = {t.instance_id: t for t in sim.truth.objects()}
    target = max((truths[i] for i in seen if i in truths and truths[i].label not in ("wall", "floor", "ceiling")),
                 key=lambda t: seen[t.instance_id])
    sim.close()
    return frames, target


def distance_to(target, point) -> float:
    """Metres from ``point`` to the target's bounding box (0 inside)."""
    point = np.asarray(point)
    return float(np.linalg.norm(np.maximum(np.maximum(target.bbox_min - point, point - target.bbox_max), 0.0)))
