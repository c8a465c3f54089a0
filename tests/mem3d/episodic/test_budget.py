"""The memory budget over a simulator tour: caps never exceeded, evicted is not disappeared, and every
instance keeps its last evidence (a keyframe that shows it)."""

import pytest

from mem3d.episodic import queries
from mem3d.episodic.config import BudgetConfig, EpisodicConfig
from mem3d.episodic.results import EventKind
from tests.helpers.episodes import run_episode

pytestmark = pytest.mark.edge
MAX_VOXELS, MAX_KEYFRAMES = 3000, 16


@pytest.fixture(scope="module")
def bounded(label_encoder):
    budget = BudgetConfig(max_voxels=MAX_VOXELS, max_keyframes=MAX_KEYFRAMES)
    return run_episode(label_encoder, EpisodicConfig(budget=budget), changes=False)


def test_the_budget_is_never_exceeded(bounded):
    assert max(v for v, _ in bounded.sizes) <= MAX_VOXELS
    assert max(k for _, k in bounded.sizes) <= MAX_KEYFRAMES
    assert len(bounded.frames) > 3 * MAX_KEYFRAMES  # the caps were binding


def test_evicted_instances_are_forgotten_not_disappeared(bounded):
    kinds = [e.kind for e in bounded.memory.log]
    assert EventKind.EVICTED in kinds
    assert EventKind.DISAPPEARED not in kinds  # nothing was removed from the scene
    forgotten = [i for i in bounded.memory.instances.values() if i.status == "forgotten"]
    assert forgotten and all(i.events[-1].kind is EventKind.EVICTED for i in forgotten)


def test_no_instance_loses_its_last_evidence(bounded, label_encoder):
    memory = bounded.memory
    for inst in memory.instances.values():
        assert inst.keyframe in memory.keyframes
        assert inst.id in memory.keyframes[inst.keyframe].instances
        shown = bounded.instance_images[memory.keyframes[inst.keyframe].obs_id]
        assert shown.any()
    forgotten = next(i for i in memory.instances.values() if i.status == "forgotten")
    sighting = queries.where_last_seen(memory, forgotten.feature)
    assert sighting is not None and sighting.keyframe is not None and sighting.status in ("forgotten", "present")
