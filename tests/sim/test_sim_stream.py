"""The simulator as its own process-like stream: XPUB observations, read latest-only by RemoteSource."""

import threading

import numpy as np
import pytest
import zmq

from mem3d.comms.remote_source import RemoteSource
from mem3d.errors import EndOfStreamError
from sim.config import CameraConfig, SimConfig
from sim.embedded import EmbeddedSimSource
from sim.server import StreamConfig, stream_tours


def free_endpoint() -> str:
    socket = zmq.Context.instance().socket(zmq.PUB)
    socket.bind("tcp://127.0.0.1:*")
    endpoint = socket.getsockopt_string(zmq.LAST_ENDPOINT)
    socket.close()
    return endpoint


def test_a_remote_source_reads_the_tour_until_it_ends():
    endpoint = free_endpoint()
    source = EmbeddedSimSource(config=SimConfig(camera=CameraConfig(width=64, height=48)))
    sent: list[int] = []
    publisher = threading.Thread(target=lambda: sent.append(stream_tours(
        source, StreamConfig(endpoint, rate_hz=200.0, wait_for_subscriber_s=20.0))))
    publisher.start()
    remote = RemoteSource(endpoint, timeout=20.0)
    received = []
    try:
        first = remote.reset()
        received.append(first)
        with pytest.raises(EndOfStreamError):
            while True:
                received.append(remote.observe())
        assert not remote.act(None).success
    finally:
        remote.close()
        publisher.join(timeout=60)
    ids = [obs.obs_id for obs in received]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)       # newest first, never repeated
    assert 1 <= len(received) <= sent[0]                          # latest-only may skip, never invent
    obs = received[-1]
    obs.validate()
    assert obs.rgb.shape == (48, 64, 3) and obs.semantic is not None and obs.labels
    described = source.scene.description_of_semantic()
    assert obs.descriptions == {i: described[i] for i in obs.labels if i in described}
    assert np.isfinite(obs.T_world_camera).all()
