"""The wire format: exact round trips, and a decoder that refuses everything malformed with a code."""

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mem3d.protocol.messages import message_to_observation, observation_to_message
from mem3d.protocol.wire import (
    ALLOWED_DTYPES,
    MAX_FRAMES,
    SCHEMA_VERSION,
    ErrorCode,
    Message,
    ProtocolError,
    decode,
    encode,
)
from mem3d.types import CameraIntrinsics, Observation


def valid_message() -> Message:
    return Message("ingest", 7, {"source": "cam", "stamp": 1.5, "nested": {"a": [1, 2]}},
                   {"points": np.arange(12, dtype=np.float32).reshape(4, 3),
                    "colors": np.zeros((4, 3), np.uint8), "empty": np.zeros((0, 5), np.float16)})


def test_round_trip_keeps_fields_and_arrays_exactly():
    message = valid_message()
    decoded = decode([bytes(f) for f in encode(message)])
    assert decoded.type == "ingest" and decoded.id == 7 and decoded.fields == message.fields
    for name, array in message.arrays.items():
        assert decoded.arrays[name].dtype == array.dtype and np.array_equal(decoded.arrays[name], array)


@pytest.mark.parametrize("dtype", sorted(ALLOWED_DTYPES))
def test_every_allowed_dtype_round_trips(dtype):
    array = (np.arange(6) % 3).astype(dtype).reshape(2, 3)
    out = decode([bytes(f) for f in encode(Message("x", 1, {}, {"a": array}))]).arrays["a"]
    assert out.dtype == np.dtype(dtype) and np.array_equal(out, array)


def test_big_endian_input_is_sent_little_endian():
    array = np.arange(3, dtype=">f4")
    out = decode([bytes(f) for f in encode(Message("x", 1, {}, {"a": array}))]).arrays["a"]
    assert out.dtype == np.dtype("<f4") and np.array_equal(out, array)


def labelled_observation() -> Observation:
    semantic = np.array([[0, 3, 7], [7, 7, 3]], np.int32)
    return Observation(np.arange(18, dtype=np.uint8).reshape(2, 3, 3), np.full((2, 3), 1.5, np.float32),
                       CameraIntrinsics.from_fov(3, 2, 90.0), np.eye(4), 2.5, 9, semantic, semantic * 10,
                       labels={3: "sofa", 7: "red mug"}, descriptions={7: "cup"})


def test_an_observation_round_trips_with_its_labels_and_descriptions():
    obs = labelled_observation()
    out = message_to_observation(decode([bytes(f) for f in encode(observation_to_message(obs))]))
    for name in ("rgb", "depth", "T_world_camera", "semantic", "instance"):
        assert np.array_equal(getattr(out, name), getattr(obs, name))
    assert (out.stamp, out.obs_id, out.intrinsics) == (obs.stamp, obs.obs_id, obs.intrinsics)
    assert out.labels == {3: "sofa", 7: "red mug"} and out.descriptions == {7: "cup"}


@pytest.mark.parametrize("descriptions, error", [(..., None), ([[7, "cup"]], None), ({"7": "cup"}, "descriptions"),
                                                 ([[7]], "descriptions"), ([["7", "cup"]], "descriptions"),
                                                 ([[7, 3]], "descriptions")])
def test_observation_descriptions_are_optional_and_checked(descriptions, error):
    message = observation_to_message(labelled_observation())
    if descriptions is ...:
        del message.fields["descriptions"]  # a sender that has none
    else:
        message.fields["descriptions"] = descriptions
    if error is None:
        assert message_to_observation(message).descriptions == ({} if descriptions is ... else {7: "cup"})
    else:
        with pytest.raises(ProtocolError, match=error) as raised:
            message_to_observation(message)
        assert raised.value.code == ErrorCode.INVALID_INPUT


def header(**changes) -> bytes:
    base = {"v": SCHEMA_VERSION, "type": "ping", "id": 1, "arrays": []}
    base.update(changes)
    return msgpack.packb({k: v for k, v in base.items() if v is not ...}, use_bin_type=True)


@pytest.mark.parametrize("frames, code, text", [
    ([], ErrorCode.BAD_MESSAGE, "empty"),
    ([b"\xc1"], ErrorCode.BAD_MESSAGE, "msgpack"),
    ([msgpack.packb([1, 2])], ErrorCode.BAD_MESSAGE, "map"),
    ([header() + b"x"], ErrorCode.BAD_MESSAGE, "msgpack"),
    ([header(v=1)], ErrorCode.UNSUPPORTED_VERSION, "version 1"),  # an old peer (stored messages: migrations)
    ([header(v=SCHEMA_VERSION + 1)], ErrorCode.UNSUPPORTED_VERSION, f"version {SCHEMA_VERSION + 1}"),
    ([header(v=...)], ErrorCode.BAD_MESSAGE, "'v' is required"),
    ([header(v=float(SCHEMA_VERSION))], ErrorCode.BAD_MESSAGE, "'v' must be an integer"),
    ([header(v=True)], ErrorCode.BAD_MESSAGE, "'v' must be an integer"),
    ([header(v=str(SCHEMA_VERSION))], ErrorCode.BAD_MESSAGE, "'v' must be an integer"),
    ([header(type=...)], ErrorCode.BAD_MESSAGE, "'type' is required"),
    ([header(id=...)], ErrorCode.BAD_MESSAGE, "'id' is required"),
    ([header(arrays=...)], ErrorCode.BAD_MESSAGE, "'arrays' is required"),
    ([msgpack.packb({b"v": SCHEMA_VERSION, b"type": b"ping", b"id": 1, b"arrays": []}, use_bin_type=True)],
     ErrorCode.BAD_MESSAGE, "str"),
    ([header(type="")], ErrorCode.BAD_MESSAGE, "type"),
    ([header(type=5)], ErrorCode.BAD_MESSAGE, "type"),
    ([header(id=-1)], ErrorCode.BAD_MESSAGE, "id"),
    ([header(id=True)], ErrorCode.BAD_MESSAGE, "id"),
    ([header(), b"abc"], ErrorCode.BAD_MESSAGE, "arrays"),
    ([header(arrays=[["a", "<f4", [2]]])], ErrorCode.BAD_MESSAGE, "arrays"),
    ([header(arrays=[["a", "<f4", [2]]]), b"\x00" * 7], ErrorCode.BAD_MESSAGE, "needs 8 bytes"),
    ([header(arrays=[["a", ">f4", [1]]]), b"\x00" * 4], ErrorCode.BAD_MESSAGE, "not allowed"),
    ([header(arrays=[["a", "|O", [1]]]), b"\x00" * 8], ErrorCode.BAD_MESSAGE, "not allowed"),
    ([header(arrays=[["a", "<f4", [-1]]]), b""], ErrorCode.BAD_MESSAGE, "shape"),
    ([header(arrays=[["a", "<f4", [1, 1, 1, 1, 1]]]), b"\x00" * 4], ErrorCode.BAD_MESSAGE, "shape"),
    ([header(arrays=[["a", "<f4", ["2"]]]), b"\x00" * 8], ErrorCode.BAD_MESSAGE, "shape"),
    ([header(arrays=[["a", "<f4"]]), b""], ErrorCode.BAD_MESSAGE, "spec"),
    ([header(arrays=[["a", "|u1", [1]], ["a", "|u1", [1]]]), b"x", b"y"], ErrorCode.BAD_MESSAGE, "twice"),
    ([header()] + [b""] * MAX_FRAMES, ErrorCode.TOO_LARGE, "frames"),
    ([b"\x80" * 70_000], ErrorCode.TOO_LARGE, "header"),
])
def test_malformed_messages_are_refused_with_a_code(frames, code, text):
    with pytest.raises(ProtocolError, match=text) as raised:
        decode(frames)
    assert raised.value.code == code


@pytest.mark.parametrize("frames, code", [
    ([header(id=42, v=SCHEMA_VERSION + 1)], ErrorCode.UNSUPPORTED_VERSION),
    ([header(id=42, v=1.0)], ErrorCode.BAD_MESSAGE),
    ([header(id=42, arrays=...)], ErrorCode.BAD_MESSAGE),
    ([header(id=42), b"abc"], ErrorCode.BAD_MESSAGE),
    ([header(id=42)] + [b""] * MAX_FRAMES, ErrorCode.TOO_LARGE),
])
def test_an_error_carries_the_id_whenever_the_header_is_readable(frames, code):
    with pytest.raises(ProtocolError) as raised:
        decode(frames)
    assert (raised.value.code, raised.value.request_id) == (code, 42)


@pytest.mark.parametrize("frames", [[header(id=...)], [header(id=-3)], [header(id=True)], [b"\xc1"],
                                    [b"\x80" * 70_000]])
def test_an_error_carries_id_0_when_no_valid_id_can_be_read(frames):
    with pytest.raises(ProtocolError) as raised:
        decode(frames)
    assert raised.value.request_id == 0


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=5))
def test_random_frames_never_crash_the_decoder(frames):
    try:
        decode(frames)
    except ProtocolError:
        pass


@settings(max_examples=3000, deadline=None)
@given(data=st.data())
def test_mutated_valid_messages_never_crash_the_decoder(data):
    frames = [bytearray(bytes(f)) for f in encode(valid_message())]
    for _ in range(data.draw(st.integers(1, 4))):
        frame = frames[data.draw(st.integers(0, len(frames) - 1))]
        kind = data.draw(st.sampled_from(["flip", "truncate", "insert"]))
        if kind == "flip" and frame:
            frame[data.draw(st.integers(0, len(frame) - 1))] ^= data.draw(st.integers(1, 255))
        elif kind == "truncate":
            del frame[data.draw(st.integers(0, len(frame))):]
        else:
            frame[data.draw(st.integers(0, len(frame))):0] = data.draw(st.binary(min_size=1, max_size=8))
    if data.draw(st.booleans()):
        frames.append(bytearray(data.draw(st.binary(max_size=16))))
    try:
        message = decode([bytes(f) for f in frames])
    except ProtocolError:
        return
    for array in message.arrays.values():  # whatever decodes is internally consistent
        assert array.nbytes == array.size * array.itemsize
