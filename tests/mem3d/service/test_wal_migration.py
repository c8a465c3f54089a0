"""Stores written by an older mem3d: write-ahead log records of schema version 1 still replay.

``data/schema_v1.wal`` is a log segment written by mem3d at schema version 1 (the camera pose array
was named ``pose`` then) holding the two frames of ``legacy_frames()`` as records 1 and 2.
"""

import shutil
from pathlib import Path

import msgpack
import numpy as np

from mem3d.io.verify import inspect_store, read_records
from mem3d.io.wal_format import parse_record
from mem3d.protocol.migrations import upgrade
from mem3d.protocol.wire import SCHEMA_VERSION, decode
from mem3d.service.durable import DurableMemory
from mem3d.types import CameraIntrinsics, FeatureFrame
from mem3d.voxel_map import MapConfig, VoxelMap
from tests.helpers.synthetic_room import DIM

LEGACY_SEGMENT = Path(__file__).parent / "data" / "schema_v1.wal"
MAP = MapConfig(feature_dim=DIM, feature_model="synthetic")


def legacy_frames() -> list[FeatureFrame]:
    """The frames in ``LEGACY_SEGMENT``: 40 points each, the second with a tiny depth image."""
    rng = np.random.default_rng(7)
    frames = []
    for obs_id in (1, 2):
        features = rng.normal(size=(2, DIM)).astype(np.float32)
        features /= np.linalg.norm(features, axis=1, keepdims=True)
        pose = np.eye(4)
        pose[:3, 3] = (0.0, 0.0, 1.0)
        depth = np.full((6, 8), 1.5, np.float32) if obs_id == 2 else None
        frames.append(FeatureFrame(
            points=(rng.uniform(-0.5, 0.5, (40, 3)) + (0.0, 0.0, 2.5)).astype(np.float32),
            colors=rng.integers(0, 255, (40, 3), dtype=np.uint8), features=features,
            feature_index=rng.integers(0, 2, 40).astype(np.int32), T_world_camera=pose, stamp=float(obs_id),
            obs_id=obs_id, depth=depth, intrinsics=CameraIntrinsics.from_fov(8, 6, 70.0) if depth is not None
            else None, feature_model="synthetic"))
    return frames


def legacy_store(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    (store / "wal").mkdir(parents=True)
    shutil.copy(LEGACY_SEGMENT, store / "wal" / "00000001.wal")
    return store


def test_a_store_whose_log_holds_version_1_records_replays_them(tmp_path):
    memory = DurableMemory(legacy_store(tmp_path), MAP)
    try:
        assert memory.replayed == 2 and memory.seq == 2 and dict(memory.sources) == {"old-camera": 2}
        reference = VoxelMap(MAP)
        for frame in legacy_frames():
            reference.update(frame)
        assert len(memory.map) == len(reference) > 0
        restored, expected = memory.map.voxels(), reference.voxels()
        for name in expected.__dataclass_fields__:
            assert np.array_equal(getattr(restored, name), getattr(expected, name)), name
    finally:
        memory.close(checkpoint=True)
    reopened = DurableMemory(tmp_path / "store", MAP)  # the checkpoint now holds them: nothing to replay
    assert reopened.replayed == 0 and len(reopened.map) == len(reference)
    reopened.close()


def test_old_records_come_out_of_the_log_in_the_current_version(tmp_path):
    (_, stored), _ = _raw_records(LEGACY_SEGMENT)
    header = msgpack.unpackb(stored[0])
    assert header["v"] == 1 and [spec[0] for spec in header["arrays"]] == [
        "points", "colors", "features", "feature_index", "pose"]
    report = inspect_store(legacy_store(tmp_path))
    assert report.verdict.value == "ok" and report.acked is None  # an old store has no watermark
    (ref, frames), _ = read_records(report)
    frames = upgrade(frames)
    assert ref.seq == 1 and frames[1:] == stored[1:]  # the arrays are kept as they are
    message = decode(frames)
    assert message.type == "ingest" and message.id == 1
    assert "T_world_camera" in message.arrays and "pose" not in message.arrays
    assert msgpack.unpackb(frames[0])["v"] == SCHEMA_VERSION
    assert np.array_equal(message.arrays["T_world_camera"], legacy_frames()[0].T_world_camera)


def test_a_live_peer_speaking_version_1_is_refused(start_service, tmp_path):
    """Only stored records are converted: an old client is told which version the service speaks."""
    import zmq

    (_, frames), _ = _raw_records(LEGACY_SEGMENT)
    service = start_service(map=MAP)
    socket = zmq.Context.instance().socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(service.endpoints["ingest"])
    try:
        socket.send_multipart(frames)
        assert socket.poll(5000)
        reply = decode(socket.recv_multipart())
    finally:
        socket.close()
    assert reply.type == "error" and reply.fields["code"] == "unsupported_version" and reply.id == 1
    assert f"speaks {SCHEMA_VERSION}" in reply.fields["message"]


def _raw_records(segment: Path) -> list[tuple[int, list[bytes]]]:
    """The records of a segment exactly as stored (no conversion)."""
    data, offset, records = segment.read_bytes(), 0, []
    while offset < len(data):
        record = parse_record(data, offset).record
        records.append((record.seq, record.frames))
        offset = record.end
    return records
