"""The command-line mistakes a new user made (issue 14): each is now one line saying what to do, and
nothing is created or changed."""

import os
import subprocess
import sys

import pytest
import zmq

from mem3d.comms.endpoints import ANY_LOOPBACK_PORT
from tests.helpers.cli import assert_one_line_error, run_cli, tree
from tests.helpers.synthetic_room import DIM
from tests.mem3d.service.stores import write_store


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


CLIENTS = [["plan", "find", "mug"], ["perceive", "--source", "sim"], ["navigate", "--goal", "sofa"]]
"""Commands that talk to a memory service."""


@pytest.mark.parametrize("argv", CLIENTS)
def test_an_endpoint_without_a_scheme(tmp_path, capsys, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli(capsys, *argv, "--memory", "localhost:5555")
    assert status == 1 and out == ""
    assert_one_line_error(err, argv[0], "'localhost:5555' is not a ZeroMQ endpoint: write it as tcp://HOST:PORT, "
                                        "e.g. tcp://localhost:5555")
    assert list(tmp_path.iterdir()) == []


def test_serve_on_a_busy_port_creates_no_store(tmp_path, capsys):
    context = zmq.Context()
    holder = context.socket(zmq.ROUTER)
    holder.bind(ANY_LOOPBACK_PORT)
    busy = holder.getsockopt_string(zmq.LAST_ENDPOINT)
    try:
        status, out, err = run_cli(capsys, "serve", "--store", tmp_path / "store", "--bind", busy)
    finally:
        holder.close(linger=0)
        context.term()
    assert status == 1 and out == ""
    assert_one_line_error(err, "serve", f"cannot listen on {busy}: the address is in use")
    assert not (tmp_path / "store").exists()


def test_serve_and_keys_refuse_a_file_where_a_directory_goes(tmp_path, capsys):
    path = tmp_path / "notes.txt"
    path.write_text("mine")
    status, _, err = run_cli(capsys, "serve", "--store", path, "--bind", ANY_LOOPBACK_PORT)
    assert status == 1
    assert_one_line_error(err, "serve", f"--store {path} is a file: give a directory (a new one is created)")
    status, _, err = run_cli(capsys, "keys", "--dir", path / "keys", "--name", "server")
    assert status == 1
    assert_one_line_error(err, "keys", f"--dir {path / 'keys'}: {path} is a file; give a directory")
    assert tree(tmp_path) == {"notes.txt": b"mine"}


def test_map_info_on_a_file(tmp_path, capsys):
    path = tmp_path / "map.zarr"
    path.write_text("x")
    status, _, err = run_cli(capsys, "map", "info", path)
    assert status == 1
    assert_one_line_error(err, "map", f"{path} is a file, not a store: give the directory that `mem3d serve "
                                      "--store` wrote")
    assert tree(tmp_path) == {"map.zarr": b"x"}


def test_serve_checks_the_stored_map_before_loading_an_encoder(tmp_path, capsys, scene, concepts, camera):
    from tests.mem3d.service.stores import make_frames

    store = write_store(tmp_path / "store", make_frames(scene, concepts, camera, 2))
    before = tree(store)
    status, _, err = run_cli(capsys, "serve", "--store", store, "--encoder", "label-minilm", "--bind",
                             ANY_LOOPBACK_PORT)
    assert status == 1
    assert_one_line_error(err, "serve", f"the map in {store} holds synthetic features ({DIM}-d): serve it with "
                                        "--encoder synthetic, or give another --store for label-minilm")
    assert tree(store) == before


def run_subprocess(*argv: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``mem3d argv...`` as its own process (to see what it imports and how long it takes to fail)."""
    return subprocess.run([sys.executable, "-m", "mem3d.apps.cli", *argv], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("argv", CLIENTS)
def test_a_missing_service_is_named_before_anything_loads(tmp_path, argv):
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    done = run_subprocess(*argv, "--memory", endpoint)
    assert done.returncode == 1 and done.stdout == ""
    assert_one_line_error(done.stderr, argv[0], f"no memory service answers at {endpoint} within 3 s: "
                                                f"is `mem3d serve` running at {endpoint}?")


@pytest.mark.edge
def test_perceive_names_the_fix_when_the_map_was_made_by_another_encoder(start_service, capsys):
    service = start_service()  # a synthetic 16-d map
    endpoints = service.endpoints
    status, out, err = run_cli(capsys, "perceive", "--source", "sim", "--memory", endpoints["requests"],
                               "--ingest", endpoints["ingest"])
    assert status == 1 and out == ""
    assert_one_line_error(err, "perceive", f"the memory at {endpoints['requests']} holds synthetic features ({DIM}-d), "
                                           "not label-minilm's: run with --encoder synthetic, or serve a new store "
                                           "for it (`mem3d serve --encoder label-minilm --store DIR`)")
    assert len(service.memory.map) == 0 and service.memory.seq == 0


@pytest.mark.edge
def test_perceive_refuses_a_map_of_another_dimension_before_loading_its_encoder(start_service, capsys,
                                                                                 monkeypatch):
    from mem3d import encoder as registry
    from mem3d.voxel_map import MapConfig

    service = start_service(map=MapConfig(feature_dim=512, feature_model=""))  # as `mem3d serve` without --encoder
    loaded = []
    monkeypatch.setattr(registry, "create_encoder", lambda *a, **k: loaded.append(a))  # the image model's loader
    endpoints = service.endpoints
    status, out, err = run_cli(capsys, "perceive", "--source", "sim", "--memory", endpoints["requests"],
                               "--ingest", endpoints["ingest"])
    assert status == 1 and out == "" and loaded == []
    assert_one_line_error(err, "perceive", f"the memory at {endpoints['requests']} holds 512-d features of no named "
                                           "model, and label-minilm makes 384-d ones (was it started without "
                                           "--encoder?): serve a new store for it (`mem3d serve --encoder "
                                           "label-minilm --store DIR`)")
    assert len(service.memory.map) == 0 and service.memory.seq == 0


@pytest.mark.edge
def test_serve_with_open_clip_offline_fails_fast_and_creates_nothing(tmp_path):
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache("laion/CLIP-ViT-B-32-laion2B-s34B-b79K", "open_clip_pytorch_model.bin"),
                  str):
        pytest.skip("the default open-clip weights are cached on this machine: there is no offline refusal to show")
    done = run_subprocess("serve", "--store", str(tmp_path / "store"), "--encoder", "open-clip", "--bind",
                          ANY_LOOPBACK_PORT, "--log-level", "WARNING", env={"HF_HUB_OFFLINE": "1"})
    assert done.returncode == 1
    assert_one_line_error(done.stderr, "serve", "the ViT-B-32 weights 'laion2b_s34b_b79k' are not on this machine "
                                                "and huggingface.co cannot be reached")
    assert "--encoder-option pretrained=" in done.stderr and not (tmp_path / "store").exists()


@pytest.mark.parametrize("words, message", [
    (["bogus:=1"], "memory_service has no launch argument 'bogus'; its arguments: requests (default "),
    (["requests=tcp://127.0.0.1:6000"], "launch arguments are written key:=value, got 'requests=tcp://127.0.0.1:6000'"),
])
def test_launch_arguments_are_checked(tmp_path, capsys, words, message):
    status, out, err = run_cli(capsys, "launch", "launch/memory_service.yaml", "--run-dir", tmp_path / "run", *words)
    assert status == 1 and out == ""
    assert_one_line_error(err, "launch", message)
    assert not (tmp_path / "run").exists()


def test_launch_arguments_fill_the_commands(tmp_path):
    from mem3d.apps.launcher import Launcher, LaunchFile, parse_launch_arguments
    from mem3d.config import load_yaml_config

    launch = load_yaml_config(LaunchFile, "launch/sim_stack.yaml")
    launcher = Launcher(launch, str(tmp_path), parse_launch_arguments(
        ["scene:=3", "requests:=tcp://127.0.0.1:6000"], launch))
    commands = {child.spec.name: child.command for child in launcher.children}
    assert commands["memory"][1:5] == ["serve", "--store", f"{tmp_path}/store", "--bind"]
    assert commands["memory"][5] == "tcp://127.0.0.1:6000"
    assert commands["simulator"][commands["simulator"].index("--scene") + 1] == "3"
    assert "tcp://127.0.0.1:6000" in commands["perception"] and "tcp://127.0.0.1:6000" in commands["planner"]
    assert not any("{" in word for command in commands.values() for word in command)


def test_navigate_refuses_a_standoff_beyond_the_success_rule(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli(capsys, "navigate", "--goal", "sofa", "--standoff-max", "1.5")
    assert status == 1 and out == ""
    assert_one_line_error(err, "navigate", "--standoff-max 1.5 m: it must be over 0.3 m (the nearest standoff) "
                                           "and at most 1.0 m (the ObjectNav rule)")
    assert list(tmp_path.iterdir()) == []
