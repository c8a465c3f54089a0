"""``mem3d history`` and ``mem3d changes`` on a store written from a real simulator episode with a
rearrangement (label perception): the timelines are the episodic memory's answers, read offline."""

import json

import numpy as np
import pytest

from mem3d.episodic import queries
from tests.helpers.cli import assert_one_line_error, run_cli
from tests.helpers.episodes import map_config, run_episode
from tests.helpers.sim_store import write_frames_store

pytestmark = pytest.mark.edge


@pytest.fixture(scope="module")
def changed_store(tmp_path_factory, label_encoder):
    """(store, the in-memory episode it was written from): a tour, objects moved and one removed, a
    second tour; the store holds the same frames, replayed through the service's durable memory."""
    episode = run_episode(label_encoder)
    store = write_frames_store(tmp_path_factory.mktemp("timeline") / "store", episode.frames,
                               map_config(label_encoder), checkpoint_after=len(episode.frames) // 2)
    return store, episode


def test_changes_prints_what_the_episodic_memory_saw_change(changed_store, capsys):
    store, episode = changed_store
    status, out, _ = run_cli(capsys, "changes", str(store), "--since", str(episode.changed_at), "--json")
    assert status == 0
    events = json.loads(out)["events"]
    expected = queries.changes_since(episode.memory, episode.changed_at)
    assert [(e["kind"], e["place"]) for e in events] == [(e.kind.value, e.place) for e in expected]
    assert {"moved", "disappeared"} <= {e["kind"] for e in events}
    status, table, _ = run_cli(capsys, "changes", str(store), "--since", str(episode.changed_at))
    lines = table.strip().splitlines()
    assert status == 0 and lines[0].startswith(f"{len(events)} change(s) after")
    assert sum(" moved " in line and " -> place " in line for line in lines) == sum(
        e["kind"] == "moved" for e in events)


def test_history_follows_a_moved_object_to_its_new_place(changed_store, capsys):
    store, episode = changed_store
    labels = [t.label for t in episode.source.truth.objects()]  # ground truth picks the question only
    move = next(c for c in episode.changes if c.kind == "moved" and labels.count(c.label) == 1)
    status, out, _ = run_cli(capsys, "history", str(store), move.label, "--json")
    assert status == 0
    reply = json.loads(out)
    moved = [e for e in reply["events"] if e["kind"] == "moved"]
    assert reply["instance"] >= 0 and moved and reply["intervals"]
    assert np.linalg.norm(np.array(moved[-1]["position"]) - move.to_position) < 0.5
    status, table, _ = run_cli(capsys, "history", str(store), move.label)
    assert status == 0 and f'"{move.label}": instance {reply["instance"]}' in table and "seen during:" in table


def test_an_unknown_place_is_one_line(changed_store, capsys):
    store, _ = changed_store
    status, out, err = run_cli(capsys, "changes", str(store), "--place", "999")
    assert status == 1 and out == ""
    assert_one_line_error(err, "changes", "999")
