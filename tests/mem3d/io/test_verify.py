"""What ``inspect_store`` tells apart: a torn tail, gaps in the sequence numbers, a lost watermark."""

import pytest

from mem3d.io.verify import Verdict, inspect_store
from mem3d.service.durable import DurableMemory
from tests.mem3d.service.stores import CONFIG, crash, ingest_of, make_frames


@pytest.fixture
def frames(scene, concepts, camera):
    return make_frames(scene, concepts, camera, 6)


def three_segments(store, frames):
    """Seqs 1-2, 3-4 and 5-6 in segments 1, 2 and 3 (no checkpoint but the empty first one)."""
    memory = DurableMemory(store, CONFIG)
    for i in range(3):
        memory.ingest([ingest_of(f) for f in frames[2 * i:2 * i + 2]])
        if i < 2:
            memory.wal.rotate()
    crash(memory)
    return store


def test_an_intact_store_is_ok(tmp_path, frames):
    report = inspect_store(three_segments(tmp_path, frames))
    assert report.verdict is Verdict.OK and report.acked == 6 and len(report.replayed()) == 6
    assert report.base.name == "ckpt-000000" and not report.warnings


def test_a_missing_middle_segment_is_a_gap(tmp_path, frames):
    (three_segments(tmp_path, frames) / "wal" / "00000002.wal").unlink()
    report = inspect_store(tmp_path)
    assert report.verdict is Verdict.DAMAGED
    (loss,) = report.losses
    assert (loss.first_seq, loss.last_seq) == (3, 4) and "00000002.wal of the log are missing" in loss.cause
    assert (loss.before.obs_id, loss.after.obs_id) == (1, 4)


def test_a_segment_cut_at_a_record_boundary_is_a_gap(tmp_path, frames):
    three_segments(tmp_path, frames)
    segment = tmp_path / "wal" / "00000003.wal"
    from mem3d.io.wal_format import parse_record

    first = parse_record(segment.read_bytes(), 0).record
    segment.write_bytes(segment.read_bytes()[:first.end])  # the newest record gone, cleanly
    (loss,) = inspect_store(tmp_path).losses
    assert (loss.first_seq, loss.last_seq) == (6, 6) and "the end of the log is missing" in loss.cause


def test_garbage_after_the_last_acknowledged_record_is_a_torn_tail(tmp_path, frames):
    three_segments(tmp_path, frames)
    with open(tmp_path / "wal" / "00000003.wal", "ab") as segment:
        segment.write(b"\0" * 4096)  # space allocated, never written (a crash on some file systems)
    report = inspect_store(tmp_path)
    assert report.verdict is Verdict.TORN_TAIL and report.torn.length == 4096 and not report.losses


def test_without_its_watermark_the_log_is_read_as_it_is(tmp_path, frames):
    (three_segments(tmp_path, frames) / "wal" / "ACKED").unlink()
    report = inspect_store(tmp_path)
    assert report.verdict is Verdict.OK and report.acked is None
    assert "ACKED is missing" in report.warnings[0]
