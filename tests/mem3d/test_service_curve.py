"""CurveZMQ: only clients with an authorized key get answers; others get nothing and change nothing."""

import pytest

from mem3d.client import ServiceTimeoutError
from mem3d.service.auth import CurveClientConfig, CurveServerConfig, create_key_pair

from synthetic_room import client_of, frame_of


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
        assert client.ping()["server"] == "mem3d"
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
    from mem3d.errors import InvalidInputError
    from mem3d.service.auth import load_keys
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_keys(tmp_path / "missing.key")
    create_key_pair(tmp_path, "a")
    with pytest.raises(InvalidInputError, match="exists already"):
        create_key_pair(tmp_path, "a")
    assert (tmp_path / "a.key_secret").stat().st_mode & 0o777 == 0o600
