"""The episodic memory over a real simulator episode (label perception, 160x120): places, moves,
removals, keyframes that show what they claim. Ground truth only scores."""

import numpy as np
import pytest

from mem3d.episodic import queries
from mem3d.episodic.results import EventKind
from mem3d.errors import InvalidInputError
from tests.helpers.episodes import room_of, run_episode

pytestmark = pytest.mark.edge


@pytest.fixture(scope="module")
def episode(label_encoder):
    return run_episode(label_encoder)


def test_places_appear_as_the_agent_explores_and_edges_join_only_travelled_places(episode):
    places = episode.current_places
    first_seen = [places.index(p) for p in sorted(set(places))]
    assert len(first_seen) >= 4 and first_seen == sorted(first_seen)  # founded one after another, as it went
    assert first_seen[-1] > len(places) // 4  # new ground keeps adding places, not only the start
    travelled = {(min(a, b), max(a, b)) for a, b in zip(places[:-1], places[1:]) if a != b}
    assert set(episode.memory.places.edges) == travelled
    route = queries.route(episode.memory, places[0], places[-1])
    assert route.found and route.places[0] == places[0] and route.places[-1] == places[-1]
    for a, b in zip(route.places[:-1], route.places[1:]):
        assert (min(a, b), max(a, b)) in travelled
    assert route.length_m >= np.linalg.norm(episode.memory.places.places[places[-1]].center[:2]
                                            - episode.memory.places.places[places[0]].center[:2]) - 1e-6


def test_a_moved_object_is_moved_from_its_old_place_to_its_new_one(episode):
    source, memory = episode.source, episode.memory
    moves = [c for c in episode.changes if c.kind == "moved"]
    assert len(moves) >= 3
    events = [e for e in queries.changes_since(memory, episode.changed_at) if e.kind is EventKind.MOVED]
    for change in moves:
        near = [e for e in events if np.linalg.norm(np.array(e.position) - change.to_position) < 0.5]
        assert len(near) == 1, f"{change.label}: {near}"
        event = near[0]
        assert np.linalg.norm(np.array(event.from_position) - change.from_position) < 0.5
        assert room_of(source, memory.places.places[event.from_place].center) == change.from_room
        assert room_of(source, memory.places.places[event.place].center) == change.to_room
    assert len(events) == len(moves)


def test_a_removed_object_disappears(episode):
    removed = [c for c in episode.changes if c.kind == "removed"]
    assert len(removed) == 1
    gone = [e for e in queries.changes_since(episode.memory, episode.changed_at) if e.kind is EventKind.DISAPPEARED]
    assert len(gone) == 1
    assert np.linalg.norm(np.array(gone[0].position) - removed[0].from_position) < 0.3
    assert episode.memory.instances[gone[0].instance].status == "gone"


def test_where_last_seen_answers_with_a_keyframe_that_shows_the_object(episode, label_encoder):
    truths = {t.instance_id: t for t in episode.source.truth.objects()}
    moved = [c for c in episode.changes if c.kind == "moved"]
    checked = 0
    for change in moved:
        sighting = queries.where_last_seen(episode.memory, label_encoder.encode_text([change.label])[0])
        assert sighting is not None and sighting.keyframe is not None
        truth = truths[change.instance_id]
        assert np.linalg.norm(np.array(sighting.position) - (truth.bbox_min + truth.bbox_max) / 2) < 0.25
        shown = episode.instance_images[sighting.keyframe.obs_id]
        assert (shown == change.instance_id).sum() >= 5, change.label
        image = episode.memory.keyframe_images(sighting.keyframe.id)
        assert image.rgb_jpeg[:2] == b"\xff\xd8" and image.depth_png[:4] == b"\x89PNG"
        checked += 1
    assert checked >= 3


def test_history_when_seen_and_what_was_at_follow_the_move(episode, label_encoder):
    memory = episode.memory
    change = next(c for c in episode.changes if c.kind == "moved")
    query = label_encoder.encode_text([change.label])[0]
    instance, events = queries.history(memory, query)
    moves = [e for e in events if e.kind is EventKind.MOVED]
    assert moves and events[0].kind is EventKind.SEEN and events[0].stamp < episode.changed_at < moves[0].stamp
    _, intervals = queries.when_seen(memory, query)
    assert intervals[0].start < episode.changed_at < intervals[-1].start
    move = moves[-1]
    before = queries.what_was_at(memory, episode.changed_at, place=move.from_place)
    after = queries.what_was_at(memory, move.stamp + 1.0, place=move.from_place)
    assert instance in {s.instance for s in before} and instance not in {s.instance for s in after}
    assert instance in {s.instance for s in queries.what_was_at(memory, move.stamp + 1.0, place=move.place)}


def test_changes_since_keeps_only_persistent_instances_when_asked(episode):
    memory = episode.memory
    every = queries.changes_since(memory, float("-inf"))
    assert every and queries.changes_since(memory, float("-inf"), min_sightings=1) == every
    most = max(memory.instances[e.instance].n_sightings for e in every)
    persistent = queries.changes_since(memory, float("-inf"), min_sightings=most)
    assert persistent and all(memory.instances[e.instance].n_sightings >= most for e in persistent)
    assert len(persistent) < len(every) or all(memory.instances[e.instance].n_sightings == most for e in every)
    with pytest.raises(InvalidInputError):
        queries.changes_since(memory, 0.0, min_sightings=0)
