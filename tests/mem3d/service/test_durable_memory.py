"""Durable memory: acknowledged ingests survive restarts through checkpoint + write-ahead log."""

import dataclasses
import errno
import logging
import os

import numpy as np
import pytest

from mem3d.errors import InvalidInputError, StoreError
from mem3d.service.durable import DurableMemory, IngestOutcome
from mem3d.voxel_map import MapConfig, VoxelMap
from tests.mem3d.service.stores import CONFIG, assert_same, crash, ingest_of, make_frames, reference


@pytest.fixture
def frames(scene, concepts, camera):
    return make_frames(scene, concepts, camera, 6)


def test_acknowledged_ingests_survive_a_crash_without_checkpoint(tmp_path, frames):
    memory = DurableMemory(tmp_path, CONFIG)
    outcomes = memory.ingest([ingest_of(f) for f in frames[:4]])
    assert [o.seq for o in outcomes] == [1, 2, 3, 4]
    crash(memory)  # no checkpoint of these frames: only the log
    reopened = DurableMemory(tmp_path, CONFIG)
    assert reopened.replayed == 4 and reopened.seq == 4
    assert_same(reopened.map, reference(frames[:4]))


def test_checkpoint_then_log_replay_equals_an_uninterrupted_run(tmp_path, frames):
    memory = DurableMemory(tmp_path, CONFIG)
    memory.ingest([ingest_of(f) for f in frames[:3]])
    assert memory.checkpoint(wait=True) == "ckpt-000001"
    memory.ingest([ingest_of(f) for f in frames[3:]])
    assert memory.wal.segments() == [2]  # the segment the checkpoint covers is gone
    crash(memory)
    reopened = DurableMemory(tmp_path, CONFIG)
    assert reopened.replayed == 3
    assert_same(reopened.map, reference(frames))
    assert reopened.map.localize(frames[0].features[0]) == reference(frames).localize(frames[0].features[0])


def test_a_torn_tail_is_cut_with_a_warning_and_a_copy(tmp_path, frames, caplog):
    memory = DurableMemory(tmp_path, CONFIG)
    memory.ingest([ingest_of(f) for f in frames[:2]])
    crash(memory)
    segment = tmp_path / "wal" / "00000001.wal"
    size = segment.stat().st_size
    torn = segment.read_bytes()[: size // 3]
    with open(segment, "ab") as handle:  # part of a record being written, never acknowledged
        handle.write(torn)
    with caplog.at_level(logging.WARNING, logger="mem3d.service"):
        reopened = DurableMemory(tmp_path, CONFIG)
    assert reopened.replayed == 2 and segment.stat().st_size == size
    assert_same(reopened.map, reference(frames[:2]))
    warning = [r.getMessage() for r in caplog.records if "torn tail" in r.getMessage()]
    assert len(warning) == 1 and "00000001.wal" in warning[0] and f"{len(torn)} bytes from byte {size}" in warning[0]
    (copy,) = tmp_path.glob("quarantine-*/wal/00000001.wal.from-byte-*")
    assert copy.read_bytes() == torn


def test_damage_before_the_tail_is_reported(tmp_path, frames):
    memory = DurableMemory(tmp_path, CONFIG)
    memory.ingest([ingest_of(frames[0])])
    memory.wal.rotate()
    memory.ingest([ingest_of(frames[1])])
    crash(memory)
    first = tmp_path / "wal" / "00000001.wal"
    data = bytearray(first.read_bytes())
    data[100] ^= 0xFF
    first.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="damaged"):
        DurableMemory(tmp_path, CONFIG)


def test_duplicates_are_acknowledged_but_not_applied_again(tmp_path, frames):
    memory = DurableMemory(tmp_path, CONFIG)
    memory.ingest([ingest_of(frames[0]), ingest_of(frames[1])])
    before = len(memory.map)
    outcomes = memory.ingest([ingest_of(frames[1]), ingest_of(frames[0]), ingest_of(frames[1], source="other")])
    assert [o.duplicate for o in outcomes] == [True, True, False]
    assert memory.seq == 3 and len(memory.map) >= before
    crash(memory)
    assert DurableMemory(tmp_path, CONFIG).sources == {"cam": 1, "other": 1}


def test_a_bad_frame_in_a_batch_is_refused_alone_and_never_logged(tmp_path, frames):
    memory = DurableMemory(tmp_path, CONFIG)
    bad = dataclasses.replace(frames[1], points=frames[1].points * np.float32(np.nan))
    outcomes = memory.ingest([ingest_of(frames[0]), ingest_of(bad), ingest_of(frames[2])])
    assert isinstance(outcomes[0], IngestOutcome) and isinstance(outcomes[2], IngestOutcome)
    assert isinstance(outcomes[1], InvalidInputError)
    assert memory.seq == 2
    crash(memory)
    assert_same(DurableMemory(tmp_path, CONFIG).map, reference([frames[0], frames[2]]))


def test_reopening_with_another_schema_is_refused(tmp_path, frames):
    memory = DurableMemory(tmp_path, CONFIG)
    memory.ingest([ingest_of(frames[0])])
    memory.close()
    from mem3d.errors import SchemaMismatchError
    with pytest.raises(SchemaMismatchError, match="feature_dim"):
        DurableMemory(tmp_path, MapConfig(feature_dim=512, feature_model="synthetic"))


def fill_the_disk(monkeypatch, memory, after_bytes: int):
    """Fault injection: the log's writes fail with ENOSPC once ``after_bytes`` more bytes are written."""
    import mem3d.service.wal as wal_module

    real_write, budget = os.write, [after_bytes]

    def write(fd, data):
        if fd != memory.wal._fd:
            return real_write(fd, data)
        if budget[0] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        written = real_write(fd, bytes(data[: budget[0]]))
        budget[0] -= written
        return written

    monkeypatch.setattr(wal_module.os, "write", write)


def test_a_failed_log_write_acknowledges_nothing_and_keeps_the_log_clean(tmp_path, frames, monkeypatch):
    memory = DurableMemory(tmp_path, CONFIG)
    memory.ingest([ingest_of(frames[0])])
    size = memory.wal.end()
    with monkeypatch.context() as patch:
        fill_the_disk(patch, memory, after_bytes=1000)  # the batch is torn part way through its first record
        outcomes, logged = memory.log([ingest_of(f) for f in frames[1:3]])
    assert logged == [] and all(isinstance(o, StoreError) for o in outcomes)
    assert memory.seq == 1 and memory.wal.end() == size  # cut back to the last acknowledged record
    assert [o.seq for o in memory.ingest([ingest_of(f) for f in frames[3:5]])] == [2, 3]  # space is back
    crash(memory)
    reopened = DurableMemory(tmp_path, CONFIG)
    assert reopened.replayed == 3
    assert_same(reopened.map, reference([frames[0], frames[3], frames[4]]))


def test_a_log_that_cannot_be_cut_back_stops_the_service(tmp_path, frames, monkeypatch):
    from mem3d.service.durable import WalBrokenError

    memory = DurableMemory(tmp_path, CONFIG)
    memory.ingest([ingest_of(frames[0])])
    fill_the_disk(monkeypatch, memory, after_bytes=1000)
    monkeypatch.setattr(os, "ftruncate", lambda fd, size: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error")))
    with pytest.raises(WalBrokenError):
        memory.log([ingest_of(frames[1])])


def test_a_record_that_fails_to_apply_is_skipped_on_replay(tmp_path, frames, monkeypatch):
    memory = DurableMemory(tmp_path, CONFIG)
    memory.ingest([ingest_of(f) for f in frames[:3]])
    crash(memory)
    real_update = VoxelMap.update

    def buggy_update(self, frame, **options):  # fault injection: a bug that hits one record
        if frame.obs_id == 1:
            raise RuntimeError("a bug")
        return real_update(self, frame, **options)

    monkeypatch.setattr(VoxelMap, "update", buggy_update)
    reopened = DurableMemory(tmp_path, CONFIG)  # starts, instead of failing on every restart
    assert reopened.replayed == 3 and reopened.seq == 3
    monkeypatch.setattr(VoxelMap, "update", real_update)
    assert_same(reopened.map, reference([frames[0], frames[2]]))
