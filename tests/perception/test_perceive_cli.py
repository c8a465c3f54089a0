"""``mem3d perceive``: the node through the command line (sim, replay, encoder options shared with
``mem3d serve``; sources from the core registry)."""

from __future__ import annotations

import argparse
import json

from mem3d.apps import serve_cli
from mem3d.apps.cli import main
from mem3d.client import MemoryClient
from mem3d.comms.endpoints import ANY_LOOPBACK_PORT as ANY_PORT
from mem3d.service.server import ServiceConfig
from mem3d.voxel_map import MapConfig

TINY_ARCH = "mem3d-test-tiny-vit"  # registered with open_clip by the tiny_clip_checkpoint fixture


def test_perceive_without_an_action_explains_the_choices(capsys):
    assert main(["perceive"]) == 2
    assert "calibrate" in capsys.readouterr().err


def perceive(capsys, endpoints: dict[str, str], *argv: str) -> dict:
    """Run ``mem3d perceive`` against the service at ``endpoints``; its JSON summary."""
    code = main(["perceive", "--memory", endpoints["requests"], "--ingest", endpoints["ingest"], *argv])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out.strip().splitlines()[-1])


def test_perceive_and_serve_take_the_same_encoder_options(tmp_path, capsys, start_service, tiny_clip_checkpoint):
    options = [f"arch={TINY_ARCH}", f"pretrained={tiny_clip_checkpoint}", "device=cpu", "input_long_side=64"]
    flags = [word for option in options for word in ("--encoder-option", option)]
    parser = argparse.ArgumentParser()
    serve_cli.add_arguments(parser)
    config = serve_cli.service_config(parser.parse_args(
        ["--store", str(tmp_path / "store"), "--bind", ANY_PORT, "--encoder", "open-clip", *flags]))
    assert config.encoder_options == {"arch": TINY_ARCH, "pretrained": str(tiny_clip_checkpoint), "device": "cpu",
                                      "input_long_side": 64}
    endpoints = start_service(config=config).endpoints
    summary = perceive(capsys, endpoints, "--source", "sim", "--frames", "3", "--samples", "2000",
                       "--encoder", "open-clip", *flags)
    assert summary["observed"] == summary["acknowledged"] == 3 and summary["lost"] == 0
    with MemoryClient.of_service(endpoints) as client:
        stats = client.stats()  # the node's encoder matched the service's: same checkpoint, same name
    assert stats.feature_model == f"open-clip/{TINY_ARCH}/file:{tiny_clip_checkpoint.name}"
    assert stats.log_seq == 3 and stats.text_queries


def test_perceive_replays_a_recorded_episode(tmp_path, capsys, start_service, label_encoder):
    from sim.config import CameraConfig, SimConfig
    from sim.embedded import EmbeddedSimSource
    from sim.episode import record_episode

    sim = EmbeddedSimSource(config=SimConfig(camera=CameraConfig(width=160, height=120)))
    episode = record_episode(sim, tmp_path / "episode.zarr", n_steps=3)
    sim.close()
    info = label_encoder.info
    endpoints = start_service(config=ServiceConfig(
        store=str(tmp_path / "store"), bind=ANY_PORT, ingest_bind=ANY_PORT, publish_bind=ANY_PORT,
        map=MapConfig(feature_dim=info.feature_dim, feature_model=info.model_id))).endpoints
    summary = perceive(capsys, endpoints, "--source", f"replay:{episode}", "--samples", "1000")
    assert summary["observed"] == summary["sent"] == summary["acknowledged"] == 4  # the reset view + 3 steps


def test_bad_sources_and_options_fail_before_any_encoder_loads(tmp_path, capsys, monkeypatch):
    def no_load(*args, **kwargs):
        raise AssertionError("an encoder was loaded before the input was checked")

    monkeypatch.setattr("mem3d.encoder.create_encoder", no_load)
    assert main(["perceive", "--source", "bogus"]) == 1
    err = capsys.readouterr().err
    assert "unknown source 'bogus'" in err
    assert all(usage in err for usage in ("sim[:SEED|DIR]", "replay:DIR", "tcp://HOST:PORT"))  # the known ones
    assert main(["perceive", "--source", "replay:"]) == 1
    assert "replay needs a path" in capsys.readouterr().err
    assert main(["perceive", "--source", "sim", "--encoder", "open-clip", "--encoder-option", "batch_size=two"]) == 1
    assert "batch_size='two': not a valid int" in capsys.readouterr().err
    assert main(["serve", "--store", str(tmp_path / "store"), "--encoder-option", "device=cpu"]) == 1
    assert "--encoder-option needs --encoder" in capsys.readouterr().err
    assert not (tmp_path / "store").exists()
