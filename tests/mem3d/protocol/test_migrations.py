"""Messages of older schema versions are upgraded header-only; others pass through untouched."""

import msgpack
import numpy as np

from mem3d.protocol.messages import message_to_observation, observation_to_message
from mem3d.protocol.migrations import upgrade
from mem3d.protocol.wire import SCHEMA_VERSION, decode, encode
from tests.mem3d.protocol.test_wire import labelled_observation


def as_version_1(frames: list[bytes]) -> list[bytes]:
    """What mem3d 1 sent for the same message: version 1, the pose array named ``pose``."""
    header = msgpack.unpackb(frames[0])
    header["v"] = 1
    header["arrays"] = [["pose" if spec[0] == "T_world_camera" else spec[0], *spec[1:]] for spec in header["arrays"]]
    return [msgpack.packb(header, use_bin_type=True), *frames[1:]]


def test_a_version_1_observation_is_upgraded():
    obs = labelled_observation()
    old = as_version_1([bytes(f) for f in encode(observation_to_message(obs))])
    out = message_to_observation(decode(upgrade(old)))
    assert np.array_equal(out.T_world_camera, obs.T_world_camera) and out.labels == obs.labels


def test_current_unknown_and_unreadable_messages_pass_through_untouched():
    current = [bytes(f) for f in encode(observation_to_message(labelled_observation()))]
    assert upgrade(current) is current
    for frames in ([], [b"\xc1garbage"], [msgpack.packb({"v": SCHEMA_VERSION + 1, "type": "ingest"})],
                   [msgpack.packb({"v": True, "type": "ingest"})], [msgpack.packb([1, 2])]):
        assert upgrade(frames) is frames


def test_other_message_types_keep_their_arrays():
    header = {"v": 1, "type": "localize", "id": 3, "arrays": [["pose", "<f4", [2]]]}
    upgraded = msgpack.unpackb(upgrade([msgpack.packb(header), b"\x00" * 8])[0])
    assert upgraded["v"] == SCHEMA_VERSION and upgraded["arrays"] == [["pose", "<f4", [2]]]
