"""The memory service over real sockets on 127.0.0.1: requests, ingest, errors, the change feed."""

import time

import msgpack
import numpy as np
import pytest
import zmq

from mem3d import __version__
from mem3d.client import MemoryClient, ServiceError, ServiceTimeoutError
from mem3d.protocol.announcements import MapUpdateAnnouncement
from mem3d.protocol.messages import frame_to_message
from mem3d.protocol.replies import LocalizeReply, Pong
from mem3d.protocol.topics import MAP_UPDATE_TOPIC
from mem3d.protocol.wire import Message, decode, encode
from mem3d.synthetic import BoxScene
from mem3d.voxel_map import MapConfig
from tests.helpers.synthetic_room import (
    DIM,
    MUG,
    UNRELATED,
    ConceptEncoder,
    box_contains,
    client_of,
    frame_of,
    room_boxes,
)


@pytest.fixture
def fed(start_service, scene, concepts, camera):
    service = start_service()
    with client_of(service, timeout=10) as client:
        for i in range(3):
            ack = client.ingest(frame_of(scene, concepts, camera, i), "test-camera")
            assert ack.seq == i + 1 and not ack.duplicate and ack.added > 0
    return service


def test_ping_stats_localize_save(fed, concepts):
    with client_of(fed) as client:
        pong = client.ping()
        assert isinstance(pong, Pong) and pong.server == "mem3d" and pong.version == __version__
        stats = client.stats()
        assert stats.n_voxels > 1000 and stats.feature_dim == DIM and stats.log_seq == stats.seq == 3
        assert stats.frames_ingested == 3 and not stats.text_queries
        result = client.localize(embedding=concepts[MUG])
        assert result.found
        assert box_contains(room_boxes()[MUG], np.array([result.candidates[0].centroid]), 0.05).all()
        assert not client.localize(embedding=concepts[UNRELATED]).found
        saved = client.save()
        assert (saved.checkpoint, saved.n_voxels) == ("ckpt-000001", stats.n_voxels)
        assert client.stats().last_checkpoint == "ckpt-000001"


def test_duplicate_frames_are_acknowledged_once(fed, scene, concepts, camera):
    with client_of(fed) as client:
        n_voxels = client.stats().n_voxels
        ack = client.ingest(frame_of(scene, concepts, camera, 2), "test-camera")
        assert ack.duplicate and ack.seq == 0
        assert client.stats().n_voxels == n_voxels and client.stats().log_seq == 3


@pytest.mark.parametrize("request_, code", [
    (lambda c: Message("teleport"), "unknown_type"),
    (lambda c: Message("ingest"), "unknown_type"),
    (lambda c: Message("localize", 0, {"top_k": 5}), "invalid_input"),
    (lambda c: Message("localize", 0, {"text": "mug"}, {"embedding": c[MUG]}), "invalid_input"),
    (lambda c: Message("localize", 0, {"top_k": 0}, {"embedding": c[MUG]}), "invalid_input"),
    (lambda c: Message("localize", 0, {"top_k": "five"}, {"embedding": c[MUG]}), "invalid_input"),
    (lambda c: Message("localize", 0, {}, {"embedding": c[MUG][:7]}), "schema_mismatch"),
    (lambda c: Message("localize", 0, {}, {"embedding": np.full(DIM, np.nan, np.float32)}), "invalid_input"),
    (lambda c: Message("localize", 0, {"threshold": 7.0}, {"embedding": c[MUG]}), "invalid_input"),
    (lambda c: Message("localize", 0, {"text": "red mug"}), "not_available"),
])
def test_bad_requests_get_error_replies_and_change_nothing(fed, concepts, request_, code):
    with client_of(fed) as client:
        before = client.stats()
        with pytest.raises(ServiceError) as raised:
            client._call(request_(concepts), LocalizeReply, idempotent=False)
        assert raised.value.code == code
        after = client.stats()
        assert (after.n_voxels, after.log_seq) == (before.n_voxels, before.log_seq)
        assert client.localize(embedding=concepts[MUG]).found


def raw_request(endpoint: str, frames: list[bytes], socket_type=zmq.DEALER, timeout_ms=5000) -> list[bytes]:
    context = zmq.Context.instance()
    socket = context.socket(socket_type)
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(endpoint)
    try:
        socket.send_multipart(frames)
        assert socket.poll(timeout_ms), "no reply"
        return socket.recv_multipart()
    finally:
        socket.close()


def test_wrong_version_and_garbage_get_coded_errors(fed):
    endpoint = fed.endpoints["requests"]
    reply = decode(raw_request(endpoint, [msgpack.packb({"v": 9, "type": "ping", "id": 4, "arrays": []})]))
    assert reply.type == "error" and reply.fields["code"] == "unsupported_version" and reply.id == 4
    reply = decode(raw_request(endpoint, [b"\xff\x00garbage"]))
    assert reply.fields["code"] == "bad_message" and reply.id == 0


def test_a_req_socket_client_is_answered_too(fed):
    reply = decode(raw_request(fed.endpoints["requests"], [bytes(f) for f in encode(Message("ping", 3))],
                               socket_type=zmq.REQ))
    assert reply.type == "pong" and reply.id == 3


def test_a_client_that_vanishes_mid_request_does_not_disturb_others(fed, scene, concepts, camera):
    """Clients send a query or an ingest and disconnect before the answer: the service goes on."""
    context = zmq.Context.instance()
    ghosts = []
    for i in range(10):
        for endpoint, message in (("requests", Message("localize", 1, {}, {"embedding": concepts[MUG]})),
                                  ("ingest", frame_to_message(frame_of(scene, concepts, camera, 10 + i),
                                                              f"ghost-{i}", request_id=1))):
            ghost = context.socket(zmq.DEALER)
            ghost.connect(fed.endpoints[endpoint])
            ghost.send_multipart(encode(message))
            ghosts.append(ghost)
    for ghost in ghosts:
        ghost.close(linger=2000)  # the requests leave; the answers find nobody
    with client_of(fed) as client:
        deadline = time.monotonic() + 20
        while client.stats().log_seq < 3 + 10 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.stats().log_seq == 3 + 10  # every vanished client's ingest was logged and applied
        assert client.localize(embedding=concepts[MUG]).found
        assert client.ingest(frame_of(scene, concepts, camera, 99), "test-camera").seq == 14


def test_the_change_feed_announces_each_applied_frame(start_service, scene, concepts, camera):
    service = start_service()
    with MemoryClient.of_service(service.endpoints) as client, client.subscribe_changes(timeout=5) as changes:
        time.sleep(0.3)  # let the subscription reach the publisher
        ack = client.ingest(frame_of(scene, concepts, camera, 0), "cam")
        update = changes.recv()
        assert isinstance(update, MapUpdateAnnouncement) and update.obs_id == 0
        assert (update.added, update.updated, update.removed) == (ack.added, ack.updated, ack.removed)
        assert sum(region[3] for region in update.regions) == ack.added
        assert update.appeared and update.disappeared == ()
        mug = room_boxes()[MUG]
        without_mug = BoxScene([box for i, box in enumerate(room_boxes()) if i != MUG])
        ack = client.ingest(frame_of(without_mug, concepts, camera, 1), "cam")  # the wall behind shows
        update = next(iter(changes))
        assert ack.removed > 0 and (update.obs_id, update.removed) == (1, ack.removed)
        assert sum(region[4] for region in update.regions) == ack.removed
        assert len(update.disappeared) == 1
        assert box_contains(mug, np.array([update.disappeared[0].centroid]), margin=0.05).all()
        with pytest.raises(ServiceTimeoutError):
            changes.recv(timeout=0.2)  # one announcement per applied frame, nothing else


def test_the_change_feed_is_a_raw_topic_any_subscriber_can_read(start_service, scene, concepts, camera):
    """What a non-Python planner sees: the topic frame, then a ``map_update`` message."""
    service = start_service()
    subscriber = zmq.Context.instance().socket(zmq.SUB)
    subscriber.setsockopt(zmq.LINGER, 0)
    subscriber.setsockopt(zmq.SUBSCRIBE, MAP_UPDATE_TOPIC)
    subscriber.connect(service.endpoints["changes"])
    try:
        time.sleep(0.3)
        with client_of(service) as client:
            ack = client.ingest(frame_of(scene, concepts, camera, 0), "cam")
        assert subscriber.poll(5000)
        topic, *frames = subscriber.recv_multipart()
        update = decode(frames)
        assert topic == MAP_UPDATE_TOPIC and update.type == "map_update" and update.id == 0
        assert update.fields["added"] == ack.added and update.fields["obs_id"] == 0
        assert MapUpdateAnnouncement.from_message(update).added == ack.added
    finally:
        subscriber.close()


@pytest.mark.edge
def test_text_queries_with_a_real_text_encoder(start_service, tmp_path):
    """A service started with the label encoder embeds query text with the real MiniLM model."""
    service = start_service(store=tmp_path / "text-store", encoder="label-minilm", map=None)
    with client_of(service, timeout=30) as client:
        stats = client.stats()
        assert stats.text_queries and stats.feature_dim == 384
        assert stats.feature_model == "label-minilm/all-MiniLM-L6-v2"
        assert not client.localize(text="coffee cup").found  # an empty memory finds nothing


def test_a_service_given_a_text_encoder_answers_text_queries(start_service, scene, concepts, camera):
    service = start_service(map=MapConfig(feature_dim=DIM), text_encoder=ConceptEncoder(concepts))
    with client_of(service) as client:
        client.ingest(frame_of(scene, concepts, camera, 0), "cam")
        assert client.stats().text_queries
        assert client.localize(text="mug") == client.localize(embedding=concepts[MUG])
        assert client.localize(text="mug").found


def test_a_config_naming_an_encoder_needs_the_encoder_built(tmp_path):
    from mem3d.errors import InvalidInputError
    from mem3d.service.server import MemoryService, ServiceConfig

    with pytest.raises(InvalidInputError, match="create_service"):
        MemoryService(ServiceConfig(store=str(tmp_path / "store"), encoder="label-minilm"))
    assert not (tmp_path / "store").exists()
