"""``mem3d serve`` starts and stops as docs/protocol.md ("Starting and stopping") says: one ready line on
stdout once its signal handlers are installed; SIGTERM and SIGINT apply what was logged, write a
checkpoint and exit with status 0 (a real process, real signals)."""

import signal

import pytest

from tests.helpers.synthetic_room import frame_of, serve_process


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_sent_right_after_the_ready_line_is_a_clean_stop(tmp_path, stop_signal):
    with serve_process(tmp_path / "store") as service:
        service.process.send_signal(stop_signal)  # no request first: the handlers are in before the line
        assert service.wait(timeout=60) == 0
        assert service.process.stdout.read() == ""  # the ready line was the only line on stdout


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_writes_a_checkpoint_of_every_acknowledged_frame(tmp_path, scene, concepts, camera, stop_signal):
    store = tmp_path / "store"
    with serve_process(store) as service:
        with service.client(timeout=10) as client:
            for obs_id in range(3):
                client.ingest(frame_of(scene, concepts, camera, obs_id), "cam")
            before = client.stats()
        assert before.last_checkpoint is None
        service.process.send_signal(stop_signal)
        assert service.wait(timeout=60) == 0
    with serve_process(store) as service, service.client(timeout=10) as client:
        after = client.stats()
    assert after.last_checkpoint is not None and after.frames_since_checkpoint == 0  # nothing left to replay
    assert (after.n_voxels, after.log_seq) == (before.n_voxels, before.log_seq)

