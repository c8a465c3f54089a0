"""The rules of docs/protocol.md that a client written from the document alone found broken, each
checked over real sockets against a running service (its real decoder and validation)."""

import msgpack
import numpy as np
import pytest
import zmq

from mem3d.client import ServiceError
from mem3d.protocol.messages import frame_to_message
from mem3d.protocol.wire import MAX_FRAMES, SCHEMA_VERSION, Message, decode, encode
from mem3d.voxel_map import MapConfig
from tests.helpers.synthetic_room import DIM, MUG, client_of, frame_of


@pytest.fixture
def service(start_service, scene, concepts, camera):
    """A service holding one frame of the room (map model "synthetic", no text encoder)."""
    service = start_service()
    with client_of(service) as client:
        client.ingest(frame_of(scene, concepts, camera, 0), "cam")
    return service


def exchange(endpoint: str, frames: list[bytes]) -> Message:
    """Send raw frames from a DEALER and decode the one reply."""
    socket = zmq.Context.instance().socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(endpoint)
    try:
        socket.send_multipart(frames)
        assert socket.poll(5000), "no reply"
        return decode(socket.recv_multipart())
    finally:
        socket.close()


def unchanged(service, before) -> bool:
    with client_of(service) as client:
        after = client.stats()
    return (after.n_voxels, after.log_seq) == (before.n_voxels, before.log_seq)


def stats_of(service):
    with client_of(service) as client:
        return client.stats()


PING = {"v": SCHEMA_VERSION, "type": "ping", "id": 5, "arrays": []}


def without(header: dict, name: str) -> dict:
    return {key: value for key, value in header.items() if key != name}


@pytest.mark.parametrize("endpoint", ["requests", "ingest"])
@pytest.mark.parametrize("header, code, reply_id, text", [
    (PING | {"v": 2.0}, "bad_message", 5, "'v' must be an integer"),
    (PING | {"v": True}, "bad_message", 5, "'v' must be an integer"),
    (PING | {"v": "2"}, "bad_message", 5, "'v' must be an integer"),
    (without(PING, "v"), "bad_message", 5, "'v' is required"),
    (PING | {"v": 1}, "unsupported_version", 5, "version 1"),
    (without(PING, "id"), "bad_message", 0, "'id' is required"),
    (without(PING, "arrays"), "bad_message", 5, "'arrays' is required"),
    (without(PING, "type"), "bad_message", 5, "'type' is required"),
], ids=["v float", "v bool", "v str", "no v", "v 1", "no id", "no arrays", "no type"])
def test_the_four_header_fields_are_required_and_v_is_an_integer(service, endpoint, header, code, reply_id, text):
    reply = exchange(service.endpoints[endpoint], [msgpack.packb(header)])
    assert (reply.type, reply.fields["code"], reply.id) == ("error", code, reply_id)
    assert text in reply.fields["message"]


def test_a_header_with_bin_keys_is_a_bad_message(service):
    header = {key.encode(): value for key, value in PING.items()}
    reply = exchange(service.endpoints["requests"], [msgpack.packb(header, use_bin_type=True)])
    assert (reply.fields["code"], reply.id) == ("bad_message", 0)
    assert "str" in reply.fields["message"]


def test_too_large_replies_carry_the_readable_id(service):
    too_many = [msgpack.packb(PING | {"id": 77})] + [b""] * MAX_FRAMES
    reply = exchange(service.endpoints["requests"], too_many)
    assert (reply.fields["code"], reply.id) == ("too_large", 77)
    reply = exchange(service.endpoints["ingest"], too_many)
    assert (reply.fields["code"], reply.id) == ("too_large", 77)
    huge_header = msgpack.packb(PING | {"id": 78, "pad": "x" * 70_000})  # unread: id 0
    assert exchange(service.endpoints["requests"], [huge_header]).fields["code"] == "too_large"
    assert exchange(service.endpoints["requests"], [huge_header]).id == 0


def ingest_frames(frame, request_id: int = 9, fields: dict | None = None, arrays: dict | None = None,
                  drop: tuple[str, ...] = ()) -> list[bytes]:
    """The wire frames of an ``ingest`` of ``frame``, with header fields and arrays replaced or dropped."""
    message = frame_to_message(frame, "rules", request_id=request_id)
    message.fields.update(fields or {})
    message.arrays.update(arrays or {})
    for name in drop:
        message.fields.pop(name, None)
        message.arrays.pop(name, None)
    return [bytes(f) for f in encode(message)]


def test_a_float32_pose_is_refused(service, scene, concepts, camera):
    before = stats_of(service)
    frame = frame_of(scene, concepts, camera, 1)
    reply = exchange(service.endpoints["ingest"],
                     ingest_frames(frame, arrays={"T_world_camera": frame.T_world_camera.astype(np.float32)}))
    assert (reply.fields["code"], reply.id) == ("invalid_input", 9)
    assert "T_world_camera" in reply.fields["message"] and "float64" in reply.fields["message"]
    assert unchanged(service, before)


def test_features_and_queries_of_another_dimension_are_a_schema_mismatch(service, scene, concepts, camera):
    before = stats_of(service)
    frame = frame_of(scene, concepts, camera, 1)
    reply = exchange(service.endpoints["ingest"],
                     ingest_frames(frame, arrays={"features": np.eye(frame.features.shape[0], DIM + 1,
                                                                     dtype=np.float32)}))
    assert (reply.fields["code"], reply.id) == ("schema_mismatch", 9)
    with client_of(service) as client, pytest.raises(ServiceError) as raised:
        client.localize(embedding=concepts[MUG][:-1])
    assert raised.value.code == "schema_mismatch" and f"dimension {DIM}" in str(raised.value)
    assert unchanged(service, before)


def test_a_camera_beyond_the_map_range_is_refused_not_acknowledged(service, scene, concepts, camera):
    before = stats_of(service)
    frame = frame_of(scene, concepts, camera, 1)
    pose = frame.T_world_camera.copy()
    pose[:3, 3] = 1e30
    reply = exchange(service.endpoints["ingest"], ingest_frames(frame, arrays={"T_world_camera": pose}))
    assert (reply.fields["code"], reply.id) == ("invalid_input", 9)
    assert "range" in reply.fields["message"]
    assert unchanged(service, before)


@pytest.mark.parametrize("change, text", [
    ({"arrays": {"confidence": np.ones(3, np.float32)}}, "unknown array 'confidence'"),
    ({"fields": {"robot": "r2"}}, "unknown field 'robot'"),
    ({"drop": ("colors",)}, "array 'colors' is required"),
])
def test_unknown_and_missing_fields_and_arrays_are_refused(service, scene, concepts, camera, change, text):
    before = stats_of(service)
    reply = exchange(service.endpoints["ingest"], ingest_frames(frame_of(scene, concepts, camera, 1), **change))
    assert (reply.fields["code"], reply.id) == ("invalid_input", 9)
    assert text in reply.fields["message"]
    assert unchanged(service, before)


@pytest.mark.parametrize("change, code", [
    ({"drop": ("feature_model",)}, "schema_mismatch"),  # absent counts as "": the memory names "synthetic"
    ({"fields": {"feature_model": ""}}, "schema_mismatch"),
    ({"fields": {"feature_model": "open-clip/ViT-B-32"}}, "schema_mismatch"),
    ({}, "ingest_ack"),
])
def test_feature_model_must_be_the_one_the_memory_names(service, scene, concepts, camera, change, code):
    reply = exchange(service.endpoints["ingest"], ingest_frames(frame_of(scene, concepts, camera, 1), **change))
    assert (reply.fields.get("code", reply.type), reply.id) == (code, 9)


def test_a_memory_without_a_model_name_takes_frames_without_one(start_service, scene, concepts, camera):
    service = start_service(map=MapConfig(feature_dim=DIM))
    reply = exchange(service.endpoints["ingest"],
                     ingest_frames(frame_of(scene, concepts, camera, 0), drop=("feature_model",)))
    assert reply.type == "ingest_ack" and reply.fields["seq"] == 1


@pytest.mark.parametrize("text", ["", " ", "\t\n", "\u3000\u00a0", "x" * 1001],
                         ids=["empty", "space", "tab newline", "unicode spaces", "1001 characters"])
def test_blank_or_too_long_text_is_invalid_input_even_without_an_encoder(service, text):
    before = stats_of(service)
    with client_of(service) as client, pytest.raises(ServiceError) as raised:
        client.localize(text=text)
    assert raised.value.code == "invalid_input" and "text" in str(raised.value)
    assert unchanged(service, before)


def test_a_text_of_1000_characters_is_valid(service):
    with client_of(service) as client, pytest.raises(ServiceError) as raised:
        client.localize(text="a mug," + " " * 994)
    assert raised.value.code == "not_available"  # past the text rule: this service has no encoder
