"""The perception node against a real memory service: lossless delivery survives a service restart and
batches for encoders that batch; live delivery skips observations instead of falling behind, and gives
up on lost acknowledgements instead of stalling."""

import threading
import time

import pytest
import zmq

from mem3d.client import MemoryClient
from mem3d.comms.endpoints import ANY_LOOPBACK_PORT
from mem3d.service.config import ServiceConfig
from mem3d.voxel_map import MapConfig
from perception.config import FrameConfig
from perception.node import DeliveryConfig, PerceptionNode


class Views:
    """A Source over a fixed list of observations (ends with EndOfStreamError)."""

    def __init__(self, observations):
        self.observations, self.i = observations, 0

    def reset(self, seed=None):
        self.i = 0
        return self.observe()

    def observe(self):
        from mem3d.errors import EndOfStreamError
        if self.i >= len(self.observations):
            raise EndOfStreamError("no more views")
        self.i += 1
        return self.observations[self.i - 1]

    def act(self, action):
        raise AssertionError("not driven")

    def close(self):
        pass


def config_for(store, encoder, endpoints=None) -> ServiceConfig:
    """A service for ``encoder``'s features in ``store``, on ``endpoints`` (default: free loopback ports)."""
    endpoints = endpoints or dict.fromkeys(("requests", "ingest", "changes"), ANY_LOOPBACK_PORT)
    info = encoder.info
    return ServiceConfig(store=str(store), bind=endpoints["requests"], ingest_bind=endpoints["ingest"],
                         publish_bind=endpoints["changes"],
                         map=MapConfig(feature_dim=info.feature_dim, feature_model=info.model_id))


@pytest.fixture
def views(room_views):
    observations = []
    for i in range(12):
        obs = room_views[i % len(room_views)]
        observations.append(type(obs)(**{**obs.__dict__, "obs_id": i, "stamp": float(i)}))
    return observations


def test_lossless_delivery_resends_across_a_service_restart(tmp_path, start_service, label_encoder, views):
    service = start_service(config=config_for(tmp_path / "store", label_encoder))
    endpoints = dict(service.endpoints)
    with MemoryClient.of_service(endpoints, timeout=5) as client:
        node = PerceptionNode(label_encoder, client, FrameConfig(n_samples=2000),
                              DeliveryConfig(max_in_flight=3, ack_timeout_s=1.0, max_resends=20))
        source = Views(views)
        node.process(source.reset())
        for _ in range(4):
            node.process(source.observe())
        node.flush()
        start_service.stop(service)  # the service goes away mid-stream...
        restarted = []
        config = config_for(tmp_path / "store", label_encoder, endpoints)
        threading.Timer(1.5, lambda: restarted.append(start_service(config=config))).start()
        while True:  # ...and comes back on the same endpoints 1.5 s later
            try:
                node.process(source.observe())
            except Exception as error:  # EndOfStreamError
                assert type(error).__name__ == "EndOfStreamError"
                break
        node.flush()
        assert node.stats.acknowledged == len(views) and not node.stats.refused
        assert node.stats.resends >= 1
        while not restarted:
            time.sleep(0.1)
        assert client.stats().log_seq == len(views)  # every frame applied exactly once
    start_service.stop(restarted[0])


def test_live_delivery_skips_instead_of_queueing(tmp_path, start_service, label_encoder, views):
    service = start_service(config=config_for(tmp_path / "store", label_encoder))
    endpoints = dict(service.endpoints)
    start_service.stop(service)  # the memory is down (or far behind): nothing will be acknowledged
    with MemoryClient.of_service(endpoints, timeout=5) as client:
        node = PerceptionNode(label_encoder, client, FrameConfig(n_samples=2000),
                              DeliveryConfig(live=True, max_in_flight=1))
        started = time.monotonic()
        sent_now = [node.process(obs) for obs in views[:6]]
        assert sent_now == [True, False, False, False, False, False]  # never blocks, never queues up
        assert time.monotonic() - started < 5 and node.stats.skipped == 5
        service = start_service(config=config_for(tmp_path / "store", label_encoder, endpoints))
        try:
            node.flush()  # the one frame in flight arrives once the memory is back
            assert node.process(views[6])  # and the next view goes straight through
            node.flush()
            assert node.stats.acknowledged == 2 and client.stats().log_seq == 2
        finally:
            start_service.stop(service)


def test_live_delivery_resumes_after_a_lost_acknowledgement(tmp_path, start_service, label_encoder, views):
    service = start_service(config=config_for(tmp_path / "store", label_encoder))
    endpoints = dict(service.endpoints)
    start_service.stop(service)
    context = zmq.Context()
    swallower = context.socket(zmq.ROUTER)  # a memory that takes a frame and dies before acknowledging it
    swallower.bind(endpoints["ingest"])
    with MemoryClient.of_service(endpoints, timeout=5) as client:
        node = PerceptionNode(label_encoder, client, FrameConfig(n_samples=2000),
                              DeliveryConfig(live=True, max_in_flight=1, ack_timeout_s=1.0))
        assert node.process(views[0])
        assert swallower.poll(5000)
        swallower.recv_multipart()
        swallower.close(linger=0)
        context.term()
        service = start_service(config=config_for(tmp_path / "store", label_encoder, endpoints))  # the memory is back
        try:
            deadline = time.monotonic() + 20
            for obs in views[1:]:  # a live stream: no flush(), ever
                node.process(obs)
                if node.stats.acknowledged >= 3 or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
            assert node.stats.lost == 1 and node.stats.skipped >= 1
            assert node.stats.acknowledged >= 3 and not node.stats.refused
            assert client.stats().log_seq >= node.stats.acknowledged
        finally:
            start_service.stop(service)


def test_lossless_delivery_encodes_in_the_encoders_batches(tmp_path, start_service, tiny_clip_encoder, views,
                                                       monkeypatch):
    sizes = []
    encode = tiny_clip_encoder.encode_dense_batch
    monkeypatch.setattr(tiny_clip_encoder, "encode_dense_batch",
                        lambda batch: sizes.append(len(batch)) or encode(batch))
    service = start_service(config=config_for(tmp_path / "store", tiny_clip_encoder))
    endpoints = dict(service.endpoints)
    try:
        with MemoryClient.of_service(endpoints, timeout=10) as client:
            node = PerceptionNode(tiny_clip_encoder, client, FrameConfig(n_samples=2000),
                                  DeliveryConfig(max_in_flight=3))
            stats = node.run(Views(views[:5]))
            assert sizes == [2, 2, 1]  # the encoder's batch_size (2), within max_in_flight
            assert stats.observed == stats.sent == stats.acknowledged == 5 and client.stats().log_seq == 5
    finally:
        start_service.stop(service)


def test_run_can_continue_an_episode_without_resetting_it(tmp_path, start_service, label_encoder, views):
    service = start_service(config=config_for(tmp_path / "store", label_encoder))
    try:
        with MemoryClient.of_service(service.endpoints, timeout=10) as client:
            node = PerceptionNode(label_encoder, client, FrameConfig(n_samples=2000))
            source = Views(views[:5])
            node.process(source.reset())
            stats = node.run(source, reset=False)  # the rest of the episode, from where it stands
            assert stats.observed == stats.acknowledged == 5 and stats.duplicates == 0
            assert client.stats().log_seq == 5
            assert node.run(source, max_frames=2).observed == 7  # reset: the episode starts over
    finally:
        start_service.stop(service)
