"""Structure-aware fuzzing of the ingest path: any header value, any array spec, any payload.

A valid ingest message is rewritten field by field with arbitrary msgpack values (boundary integers,
NaN and infinity, wrong types, nested containers, huge shapes). Decoding, conversion to a frame and
the map's pre-flight check must either accept the message or refuse it with a mem3d error; nothing
else may escape, and a frame the check accepts must integrate without error.
"""

import math

import msgpack
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mem3d.errors import Mem3dError
from mem3d.protocol.messages import frame_to_message, message_to_frame
from mem3d.protocol.wire import SCHEMA_VERSION, ProtocolError, decode, encode
from mem3d.synthetic import BoxScene, random_concepts
from mem3d.types import CameraIntrinsics
from mem3d.voxel_map import MapConfig, VoxelMap
from tests.helpers.synthetic_room import DIM, frame_of, room_boxes

BOUNDARY_INTS = [0, 1, -1, 2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64 - 1, -(2**63)]
scalars = st.one_of(
    st.none(), st.booleans(), st.sampled_from(BOUNDARY_INTS), st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6), st.binary(max_size=6))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=6)
                      | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=12)
shapes = st.lists(st.one_of(st.sampled_from(BOUNDARY_INTS + [65536, 3, 4]), st.integers(0, 70_000)),
                  max_size=5)


@pytest.fixture(scope="module")
def valid_frames() -> list[bytes]:
    frame = frame_of(BoxScene(room_boxes()), random_concepts(8, DIM, seed=3),
                     CameraIntrinsics.from_fov(160, 120, 70.0), obs_id=1)
    return [bytes(f) for f in encode(frame_to_message(frame, "fuzz"))]


def mutate(valid: list[bytes], data) -> list[bytes]:
    header = msgpack.unpackb(valid[0])
    payload = list(valid[1:])
    for _ in range(data.draw(st.integers(1, 3))):
        target = data.draw(st.sampled_from(["field", "field", "spec", "shape", "payload"]))
        if target == "field":
            name = data.draw(st.sampled_from(["obs_id", "stamp", "source", "intrinsics", "feature_model",
                                              "v", "id", "type", "arrays", "extra"]))
            header[name] = data.draw(values)
        elif target in ("spec", "shape") and isinstance(header.get("arrays"), list) and header["arrays"]:
            i = data.draw(st.integers(0, len(header["arrays"]) - 1))
            spec = list(header["arrays"][i]) if isinstance(header["arrays"][i], list) else [None] * 3
            spec += [None] * (3 - len(spec))
            if target == "shape":
                spec[2] = data.draw(shapes)
            else:
                spec[data.draw(st.integers(0, 2))] = data.draw(values)
            header["arrays"][i] = spec
        elif payload:
            i = data.draw(st.integers(0, len(payload) - 1))
            payload[i] = data.draw(st.binary(max_size=64))
    return [msgpack.packb(header, use_bin_type=True)] + payload


@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_ingest_is_accepted_or_refused_with_a_mem3d_error(valid_frames, data):
    frames = mutate(valid_frames, data)
    voxel_map = VoxelMap(MapConfig(feature_dim=DIM, feature_model="synthetic"))
    try:
        frame, _source = message_to_frame(decode(frames))
        voxel_map.check(frame)
    except (ProtocolError, Mem3dError):
        return
    voxel_map.update(frame)  # checked means it integrates
    assert len(voxel_map) > 0 or frame.n_points == 0


def test_shapes_whose_size_overflows_int64_are_refused():
    header = {"v": SCHEMA_VERSION, "type": "ingest", "id": 1, "arrays": [["a", "|u1", [65536] * 4]]}
    assert math.prod([65536] * 4) == 2**64
    with pytest.raises(ProtocolError, match="needs"):
        decode([msgpack.packb(header), b""])


@pytest.mark.parametrize("obs_id", [2**63, 2**64 - 1, -1])
def test_out_of_range_obs_ids_are_refused_before_logging(valid_frames, obs_id):
    header = msgpack.unpackb(valid_frames[0])
    header["obs_id"] = obs_id
    frame, _ = message_to_frame(decode([msgpack.packb(header)] + valid_frames[1:]))
    with pytest.raises(Mem3dError, match="obs_id"):
        VoxelMap(MapConfig(feature_dim=DIM, feature_model="synthetic")).check(frame)


def test_infinite_intrinsics_are_refused(valid_frames):
    header = msgpack.unpackb(valid_frames[0])
    header["intrinsics"] = [1.0, 1.0, 1.0, 1.0, float("inf"), 10]
    with pytest.raises(ProtocolError, match="intrinsics"):
        message_to_frame(decode([msgpack.packb(header)] + valid_frames[1:]))


def test_feature_indices_beyond_int32_are_refused_by_the_sender(valid_frames):
    frame = frame_of(BoxScene(room_boxes()), random_concepts(8, DIM, seed=3),
                     CameraIntrinsics.from_fov(160, 120, 70.0), obs_id=1)
    frame.feature_index = frame.feature_index.astype(np.int64)
    frame.feature_index[0] = 2**40
    with pytest.raises(Mem3dError, match="feature_index"):
        frame_to_message(frame, "fuzz")
