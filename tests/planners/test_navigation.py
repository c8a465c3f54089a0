"""Closed-loop navigation on the embedded simulator: exploration, moved objects, a socket episode.

Every test drives the agent by honest actions only (MOVE_TO segments and turns the simulator checks
against its geometry); the simulator's ground truth is read only to set a test up and to score it."""

from __future__ import annotations

import numpy as np
import pytest

from mem3d.query.localization import LocalizeConfig
from mem3d.source import Action, ActionKind, ActionResult
from mem3d.voxel_map import MapConfig
from planners.body import InProcessMemory, SensedBody
from planners.goals import box_distance
from planners.navigator import NavConfig, Navigator
from sim.config import CameraConfig, SimConfig
from sim.embedded import EmbeddedSimSource

CAMERA = CameraConfig(width=160, height=120)
HONEST = {ActionKind.MOVE_TO, ActionKind.MOVE_FORWARD, ActionKind.TURN_LEFT, ActionKind.TURN_RIGHT,
          ActionKind.LOOK_UP, ActionKind.LOOK_DOWN, ActionKind.STOP}


class HonestSource(EmbeddedSimSource):
    """The embedded simulator, refusing any action that is not honest motion (e.g. a teleporting GO_TO)."""

    def act(self, action: Action) -> ActionResult:
        assert action.kind in HONEST, f"{action.kind} is not honest motion"
        return super().act(action)


def map_config(encoder) -> MapConfig:
    info = encoder.info
    return MapConfig(feature_dim=info.feature_dim, feature_model=info.model_id,
                     localize=LocalizeConfig(threshold=info.match_threshold))


def in_process(seed: int, encoder):
    from perception.config import FrameConfig
    from perception.frames import build_feature_frame

    source = HonestSource.from_spec(seed, SimConfig(camera=CAMERA, render_threads=1))
    source.reset(0)
    memory = InProcessMemory(map_config(encoder), encoder)
    frames = FrameConfig(n_samples=4000)
    body = SensedBody(source, lambda obs: memory.ingest(build_feature_frame(obs, encoder, frames)))
    return source, memory, Navigator(body, memory, NavConfig())


def distance_to(source, label: str, xy) -> float:
    return min(float(box_distance(np.asarray(xy), o.bbox_min, o.bbox_max))
               for o in source.truth.objects() if o.label == label)


def unique_labels_elsewhere(source) -> list:
    """Objects whose label is unique in the apartment, in another room than the agent's."""
    objects = source.truth.objects()
    here = source.scene.room_at(*source.state.xy)
    labels = [o.label for o in objects]
    return [o for o in objects if labels.count(o.label) == 1 and here is not None and o.room != here.name
            and o.room]


def test_exploration_finds_an_object_hidden_in_an_unvisited_room(label_encoder):
    source, memory, navigator = in_process(0, label_encoder)
    navigator.run([], look_first=True)  # a look around the start room only
    hidden = next(o for o in unique_labels_elsewhere(source) if o.label in ("refrigerator", "bed", "wardrobe")
                  and not memory.localize(text=o.label).found)
    report = navigator.pursue(hidden.label)
    assert report.reached and report.stop_reason == "verified"
    assert report.exploring_actions > 0  # memory had nothing: it explored
    assert distance_to(source, hidden.label, report.end_xy) <= 1.0
    assert report.travelled_m > 1.0


def test_a_seen_goal_is_reached_on_a_path_close_to_the_shortest(label_encoder):
    """The bathtub seen from the start of apartment 0, 3.8 m away: the agent stops at the first place
    near it with it in view (ObjectNav success), not on the far side of it."""
    from bench.nav_world import shortest_path_m, succeeded

    source, memory, navigator = in_process(0, label_encoder)
    navigator.run([], look_first=True)
    assert memory.localize(text="bathtub").found
    shortest = shortest_path_m(source, navigator.obs.T_world_camera[:2, 3], "bathtub")
    report = navigator.pursue("bathtub")
    assert report.reached and succeeded(source, "bathtub", report.end_xy)
    assert report.exploring_actions == 0 and report.wrong_places == 0
    assert shortest > 2.0 and report.travelled_m <= 1.15 * shortest  # SPL >= 0.87


def test_a_moved_object_is_found_again_after_memory_sends_the_agent_to_its_old_place(label_encoder):
    source, memory, navigator = in_process(0, label_encoder)
    first = navigator.run(["laptop"]).goals[0]
    assert first.reached
    laptop = next(o for o in source.truth.objects() if o.label == "laptop")
    supports = [o for o in source.scene.of_kind(*_furniture()) if o.top_z() is not None
                and o.room != laptop.room and o.room and o.label in ("dining table", "kitchen counter",
                                                                      "coffee table", "nightstand")]
    for support in supports:
        try:
            source.dynamics.move_object(laptop.instance_id, support_id=support.instance_id, seed=1)
            break
        except Exception:  # no free spot there: the next support
            continue
    moved = next(o for o in source.truth.objects() if o.label == "laptop")
    assert moved.room != laptop.room
    again = navigator.pursue("laptop", 1)
    assert again.wrong_places >= 1  # memory sent it to the old place first; looking showed it gone
    assert again.reached and distance_to(source, "laptop", again.end_xy) <= 1.0
    assert float(box_distance(np.asarray(again.end_xy), laptop.bbox_min, laptop.bbox_max)) > 1.0


def _furniture():
    from sim.scene import ObjectKind

    return (ObjectKind.FURNITURE,)


def test_one_closed_loop_episode_over_real_sockets(start_service, label_encoder):
    from mem3d.apps.navigate_cli import navigate
    from tests.helpers.synthetic_room import client_of

    service = start_service(text_encoder=label_encoder, map=map_config(label_encoder))
    source = HonestSource.from_spec(0, SimConfig(camera=CAMERA, render_threads=1))
    progress = []
    with client_of(service, timeout=60) as client:
        report = navigate(source, client, label_encoder, ["sofa"], seed=0, samples=4000,
                          on_progress=progress.append)
        stats, grid = client.stats(), client.occupancy()
    (goal,) = report.goals
    assert goal.reached and distance_to(source, "sofa", goal.end_xy) <= 1.0
    assert stats.frames_ingested >= 5 and grid.seq == stats.seq  # every view went through the service
    assert progress and progress[0].goal == "sofa"
    assert report.travelled_m == pytest.approx(goal.travelled_m) and goal.travelled_m > 0
