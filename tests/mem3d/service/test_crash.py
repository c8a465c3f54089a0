"""SIGKILL the service in the middle of a stream of ingests: no acknowledged frame is lost."""

import os
import signal
import threading
import time

import numpy as np
import pytest

from mem3d.client import MemoryClient, ServiceTimeoutError
from mem3d.io.checkpoint import load_map
from mem3d.synthetic import look_at
from mem3d.voxel_map import MapConfig, VoxelMap
from tests.helpers.synthetic_room import DIM, MUG, frame_of, serve_process


def client_for(endpoints):
    return MemoryClient(endpoints["requests"], endpoints["ingest"], timeout=3, retries=0)


@pytest.mark.slow
def test_every_acknowledged_frame_survives_sigkill(tmp_path, scene, concepts, camera):
    poses = [look_at((-1.0 + 0.05 * i, -1.5 + 0.1 * i, 1.2), (3.0, 0.0, 0.4)) for i in range(30)]
    frames = [frame_of(scene, concepts, camera, i, pose=poses[i]) for i in range(30)]
    store = tmp_path / "store"
    process, endpoints = serve_process(store, tmp_path, "--checkpoint-every-frames", "8")
    acked: list[int] = []

    def stream():
        with client_for(endpoints) as client:
            for frame in frames:
                try:
                    acked.append(client.ingest(frame, "camera").obs_id)
                except ServiceTimeoutError:
                    return

    sender = threading.Thread(target=stream)
    sender.start()
    deadline = time.monotonic() + 120
    while len(acked) < 17:  # past two checkpoints, in the middle of the stream
        if not sender.is_alive() or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the stream stopped after {len(acked)} acknowledged frames")
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    sender.join()
    assert 17 <= len(acked) < len(frames)

    process, endpoints = serve_process(store, tmp_path)
    try:
        with client_for(endpoints) as client:
            applied = client.stats().log_seq
            assert applied >= len(acked)  # fsynced before the kill: maybe one more than acked
            reference = VoxelMap(MapConfig(feature_dim=DIM, feature_model="synthetic"))
            for frame in frames[:applied]:
                reference.update(frame)
            for concept in range(concepts.shape[0]):
                assert client.localize(embedding=concepts[concept]) == reference.localize(concepts[concept])
            client.shutdown()
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    restored = load_map(store).voxels()
    expected = reference.voxels()
    for name in expected.__dataclass_fields__:
        assert np.array_equal(getattr(restored, name), getattr(expected, name)), name
    assert reference.localize(concepts[MUG]).found
