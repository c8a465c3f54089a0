"""``start_service_process``: a real ``mem3d serve`` child on free loopback ports, ready when it returns,
stopped cleanly (a checkpoint) by SIGTERM or on leaving its context; a failed start is a clear error."""

import pytest

from mem3d.apps.service_process import ServiceStartError, ready_message, start_service_process
from mem3d.voxel_map import MapConfig
from tests.helpers.synthetic_room import DIM, frame_of


def test_the_service_answers_on_the_announced_ports_and_stops_with_a_checkpoint(tmp_path, scene, concepts, camera):
    store = tmp_path / "store"
    with start_service_process(store, map_config=MapConfig(feature_dim=DIM, feature_model="synthetic")) as service:
        assert set(service.endpoints) == {"requests", "ingest", "changes"}
        assert all(":*" not in endpoint for endpoint in service.endpoints.values())  # real ports
        with service.client(timeout=10) as client:
            client.ingest(frame_of(scene, concepts, camera, 0), "camera")
            stats = client.stats()
        assert stats.feature_dim == DIM and stats.feature_model == "synthetic" and stats.log_seq == 1
        assert service.stop() == 0  # SIGTERM: checkpoint, close, exit 0
    assert (store / "CURRENT").exists()


def test_leaving_the_context_stops_a_running_service(tmp_path):
    with start_service_process(tmp_path / "store",
                               map_config=MapConfig(feature_dim=DIM, feature_model="synthetic")) as service:
        with service.client(timeout=10) as client:
            client.ping()  # serving: its SIGTERM handler is in place
    assert service.process.returncode == 0


def test_a_service_that_ends_before_it_is_ready_is_a_clear_error(tmp_path):
    with pytest.raises(ServiceStartError, match="ended before it was ready"):
        start_service_process(tmp_path / "store", extra_args=["--encoder-option", "device=cpu"])  # needs --encoder


def test_only_a_ready_object_counts_as_the_ready_line():
    assert ready_message('{"ready": true, "requests": "tcp://127.0.0.1:5555"}\n') == {
        "ready": True, "requests": "tcp://127.0.0.1:5555"}
    for line in ('{"ready": false}', '{"ready": "yes"}', "[1, 2]", "{not json", "ready", ""):
        assert ready_message(line) is None
