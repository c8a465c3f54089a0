"""CurveZMQ: only clients with an authorized key get answers; others get nothing and change nothing."""

import pytest

from mem3d.client import ServiceTimeoutError
from mem3d.comms.auth import CurveClientConfig, CurveServerConfig, create_key_pair
from tests.helpers.synthetic_room import client_of, frame_of


@pytest.fixture
def keys(tmp_path):
    server_public, server_secret = create_key_pair(tmp_path / "server", "server")
    _, allowed_secret = create_key_pair(tmp_path / "clients", "planner")
    _, stranger_secret = create_key_pair(tmp_path / "strangers", "stranger")
    return {"server": CurveServerConfig(str(server_secret), str(tmp_path / "clients")),
            "allowed": CurveClientConfig(str(allowed_secret), str(server_public)),
            "stranger": CurveClientConfig(str(stranger_secret), str(server_public))}


def test_only_authorized_keys_get_answers(start_service, keys, scene, concepts, camera):
    service = start_service(curve=keys["server"])
    with client_of(service, curve=keys["allowed"], timeout=10) as client:
        assert client.ping().server == "mem3d"
        assert client.stats().n_voxels == 0
    for intruder in (client_of(service, timeout=1.5, retries=0),
                     client_of(service, curve=keys["stranger"], timeout=1.5, retries=0)):
        with intruder:
            with pytest.raises(ServiceTimeoutError):
                intruder.ping()
            with pytest.raises(ServiceTimeoutError):
                intruder.ingest(frame_of(scene, concepts, camera, 0), "intruder")
    with client_of(service, curve=keys["allowed"]) as client:
        stats = client.stats()
        assert stats.n_voxels == 0 and stats.log_seq == 0
        assert client.ingest(frame_of(scene, concepts, camera, 0), "planner").seq == 1


def test_key_files_are_checked(tmp_path):
    from mem3d.comms.auth import load_keys
    from mem3d.errors import InvalidInputError
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_keys(tmp_path / "missing.key")
    create_key_pair(tmp_path, "a")
    with pytest.raises(InvalidInputError, match="exists already"):
        create_key_pair(tmp_path, "a")
    assert (tmp_path / "a.key_secret").stat().st_mode & 0o777 == 0o600


def test_the_change_feed_reaches_only_authorized_subscribers(start_service, keys, scene, concepts, camera):
    import time

    from mem3d.client import ChangeFeed

    service = start_service(curve=keys["server"])
    endpoint = service.endpoints["changes"]
    feeds = {"allowed": ChangeFeed(endpoint, keys["allowed"]), "stranger": ChangeFeed(endpoint, keys["stranger"]),
             "nobody": ChangeFeed(endpoint)}
    try:
        time.sleep(0.5)  # subscriptions travel after the handshake
        with client_of(service, curve=keys["allowed"]) as client:
            ack = client.ingest(frame_of(scene, concepts, camera, 0), "planner")
        assert feeds["allowed"].recv(timeout=5).added == ack.added
        for who in ("stranger", "nobody"):
            with pytest.raises(ServiceTimeoutError):
                feeds[who].recv(timeout=0.3)
    finally:
        for feed in feeds.values():
            feed.close()


def test_the_planner_command_takes_client_keys(start_service, keys, tmp_path, capsys):
    from mem3d.apps.cli import main

    service = start_service(curve=keys["server"])
    endpoint = service.endpoints["requests"]
    with_keys = ["--client-key", keys["allowed"].secret_key, "--server-public-key", keys["allowed"].server_key]
    # Through the handshake: the service answers (it has no text encoder, and says so).
    assert main(["plan", "find", "--memory", endpoint, "--timeout", "5", *with_keys, "sofa"]) == 1
    assert "text encoder" in capsys.readouterr().err
    # Without keys: no answer at all.
    assert main(["plan", "find", "--memory", endpoint, "--timeout", "1.5", "sofa"]) == 1
    assert "is `mem3d serve` running" in capsys.readouterr().err
    assert main(["plan", "find", "--memory", endpoint, "--client-key", keys["allowed"].secret_key, "sofa"]) == 1
    assert "both --client-key and --server-public-key" in capsys.readouterr().err
