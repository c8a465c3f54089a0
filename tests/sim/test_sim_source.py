"""The Source protocol: observations, clock, determinism; recording to zarr and exact replay."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mem3d.errors import InvalidInputError, StoreError
from mem3d.source import Action, ActionKind, Source
from sim.catalogue import CATALOGUE, catalogue_noun, description_of
from sim.config import CameraConfig, SimConfig
from sim.dynamics import Rearrangement
from sim.embedded import EmbeddedSimSource
from sim.episode import EndOfEpisodeError, EpisodeWriter, ReplaySource, record_episode

FIELDS = ("rgb", "depth", "semantic", "instance", "T_world_camera")


def assert_same_observation(a, b) -> None:
    for name in FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)
    assert (a.stamp, a.obs_id, dict(a.labels), a.intrinsics) == (b.stamp, b.obs_id, dict(b.labels), b.intrinsics)
    assert dict(a.descriptions) == dict(b.descriptions)


def test_observations_follow_the_conventions(source):
    assert isinstance(source, Source)
    first = source.observe().validate()
    second = source.observe().validate()
    assert second.obs_id == first.obs_id + 1 and second.stamp == pytest.approx(first.stamp + source.config.dt_s)
    source.act(Action(ActionKind.TURN_LEFT))
    third = source.observe()
    assert third.stamp == pytest.approx(second.stamp + 2 * source.config.dt_s)
    assert first.labels and all(first.labels[i] == source.scene.label_of_semantic()[i] for i in first.labels)
    assert set(first.labels) == set(np.unique(first.semantic)) - {0}
    assert first.descriptions and set(first.descriptions) <= set(first.labels)  # walls etc. have none
    assert all(first.descriptions[i] == description_of(first.labels[i]) != "" for i in first.descriptions)
    assert first.T_world_camera.dtype == np.float64 and (first.depth > 0).mean() > 0.99  # the ceiling closes views
    source.reset(5)
    assert source.observe().obs_id > third.obs_id  # ids never rewind


def test_ground_truth_describes_every_object(source):
    truths = source.truth.objects()
    assert truths and all(t.description == CATALOGUE[catalogue_noun(t.label)].description != "" for t in truths)
    mug = next(t for t in truths if t.label.endswith(" mug"))
    assert mug.description == "cup" and source.scene.description_of_semantic()[mug.semantic_id] == "cup"


def test_same_seed_gives_the_same_observations(small_config):
    noisy = SimConfig(camera=CameraConfig(width=96, height=72, depth_noise_std_m=0.01, depth_missing_fraction=0.05))
    for config in (small_config, noisy):
        a, b = EmbeddedSimSource(config=config), EmbeddedSimSource(config=config)
        assert_same_observation(a.reset(3), b.reset(3))
        for kind in (ActionKind.MOVE_FORWARD, ActionKind.TURN_RIGHT, ActionKind.LOOK_DOWN):
            assert a.act(Action(kind)) == b.act(Action(kind))
            assert_same_observation(a.observe(), b.observe())
    c = EmbeddedSimSource(config=small_config)
    assert not np.array_equal(c.reset(4).rgb, EmbeddedSimSource(config=small_config).reset(3).rgb)


def test_misuse_gives_clear_errors(small_config, apartment):
    fresh = EmbeddedSimSource(apartment, small_config)
    with pytest.raises(InvalidInputError, match="reset"):
        fresh.observe()
    with pytest.raises(InvalidInputError, match=">= 0"):
        fresh.reset(-1)
    fresh.reset(0)
    fresh.close()
    with pytest.raises(InvalidInputError, match="closed"):
        fresh.reset(0)
    with pytest.raises(InvalidInputError):
        Action(ActionKind.GO_TO)


def test_record_and_replay_give_identical_observations(apartment, tmp_path):
    config = SimConfig(camera=CameraConfig(width=96, height=72, depth_noise_std_m=0.005))
    source = EmbeddedSimSource(apartment, config, events=[Rearrangement(at_step=4, fraction=0.3, seed=2)])
    path = record_episode(source, tmp_path / "ep.zarr", n_steps=8, seed=1)
    # the same run again, live, against the recording
    live = EmbeddedSimSource(EmbeddedSimSource(None, config).scene, config,
                             events=[Rearrangement(at_step=4, fraction=0.3, seed=2)])
    replay = ReplaySource(path)
    assert isinstance(replay, Source) and len(replay) == 9
    assert replay.descriptions and replay.descriptions == live.scene.description_of_semantic()
    assert_same_observation(live.reset(1), replay.reset())
    for action, outcome in zip(replay.attrs["actions"], replay.attrs["action_results"]):
        result = live.act(Action(ActionKind(action[0])))
        assert [result.success, result.message] == outcome
        assert_same_observation(live.observe(), replay.observe())
    assert replay.finished
    with pytest.raises(EndOfEpisodeError):
        replay.observe()
    assert not replay.act(Action(ActionKind.MOVE_FORWARD)).success
    truth = replay.truth(8)
    assert set(truth) == {t.instance_id for t in live.truth.objects()}
    for t in live.truth.objects():
        np.testing.assert_array_equal(truth[t.instance_id], t.T_world_object)
    assert replay.attrs["changes"] and all(c["step"] == 4 for c in replay.attrs["changes"])
    assert_same_observation(replay.reset(), ReplaySource(path).frame(0))
    replay.close()
    with pytest.raises(StoreError, match="closed"):
        replay.reset()


def test_episode_store_errors(tmp_path, small_camera, source):
    EpisodeWriter(tmp_path / "ep.zarr", small_camera)
    with pytest.raises(StoreError, match="already exists"):
        EpisodeWriter(tmp_path / "ep.zarr", small_camera)
    with pytest.raises(StoreError, match="not a complete"):
        ReplaySource(tmp_path / "ep.zarr")  # never finished: no n_frames
    with pytest.raises(StoreError, match="does not exist"):
        ReplaySource(tmp_path / "missing.zarr")
    (tmp_path / "plain").mkdir()
    with pytest.raises(StoreError):
        ReplaySource(tmp_path / "plain")
    writer = EpisodeWriter(tmp_path / "ep.zarr", small_camera, overwrite=True)
    other = SimConfig(camera=CameraConfig(width=80, height=60))
    obs = EmbeddedSimSource(source.scene, other).reset(0)
    with pytest.raises(StoreError, match="intrinsics"):
        writer.append(obs)


def test_recording_writes_nothing_on_bad_input_and_cleans_up_a_failed_run(apartment, small_config, tmp_path):
    path = tmp_path / "ep.zarr"
    source = EmbeddedSimSource(apartment, small_config)
    with pytest.raises(InvalidInputError, match="episode seed must be an integer >= 0"):
        record_episode(source, path, n_steps=2, seed=-1)
    assert not path.exists()
    def malformed():  # an action source that fails half way through the recording
        yield Action(ActionKind.MOVE_FORWARD)
        raise InvalidInputError("a planner failed: GO_TO needs a target of three numbers")

    with pytest.raises(InvalidInputError, match="three numbers"):
        record_episode(source, path, n_steps=3, seed=0, actions=malformed())
    assert not path.exists()  # the half-written episode is gone
    record_episode(source, path, n_steps=1, seed=0)
    with pytest.raises(StoreError, match="--overwrite"):
        record_episode(source, path, n_steps=1, seed=0)
    assert len(ReplaySource(path)) == 2  # the finished episode is kept


def test_importing_sim_does_not_import_open3d():
    code = "import sys, sim, sim.embedded, sim.episode, sim.habitat_adapter, sim.cli; print('open3d' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("target", [(1.0, 2.0), ("a", "b", "c"), (1.0, 2.0, 0.0, 4.0), 5.0, (True, 0.0, 0.0)])
def test_a_malformed_go_to_target_is_refused_when_the_action_is_made(target):
    with pytest.raises(InvalidInputError, match="three numbers"):
        Action(ActionKind.GO_TO, target)
    assert Action(ActionKind.GO_TO, (1, np.float32(2.0), 0.5)).target == (1.0, 2.0, 0.5)
