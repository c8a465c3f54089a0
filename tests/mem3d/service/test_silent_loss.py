"""The silent losses of issue 10 (S1-S5): each now ends in a clear refusal, and an explicit repair
that states what is lost, keeps a copy of what it removes and leaves a store that opens."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mem3d.apps.cli import main
from mem3d.apps.service_process import mem3d_executable
from mem3d.errors import StoreError
from mem3d.service.durable import DurableMemory
from tests.helpers.synthetic_room import serve_process
from tests.mem3d.service.stores import CONFIG, assert_same, contents_of, ingest_of, make_frames, reference, write_store


@pytest.fixture
def frames(scene, concepts, camera):
    return make_frames(scene, concepts, camera, 6)


def segment_records(segment):
    """(offset, end) of each record of a segment."""
    from mem3d.io.wal_format import parse_record

    data, offset, spans = segment.read_bytes(), 0, []
    while offset < len(data):
        end = parse_record(data, offset).record.end
        spans.append((offset, end))
        offset = end
    return spans


def refused(store) -> str:
    """The refusal of a damaged store (which must change nothing in it)."""
    before = contents_of(store)
    with pytest.raises(StoreError, match="refusing to open a damaged store") as error:
        DurableMemory(store, CONFIG)
    assert contents_of(store) == before
    return str(error.value)


def check(store, capsys) -> tuple[int, dict]:
    capsys.readouterr()
    status = main(["store", "check", str(store), "--json"])
    return status, json.loads(capsys.readouterr().out)


def repair(store, capsys) -> dict:
    """``mem3d store repair``: first without consent (which changes nothing), then with it."""
    before = contents_of(store)
    assert main(["store", "repair", str(store)]) == 1
    assert contents_of(store) == before
    capsys.readouterr()
    assert main(["store", "repair", str(store), "--accept-loss", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_s1_a_damaged_record_mid_log_is_corruption_not_a_torn_tail(tmp_path, frames, capsys):
    store = write_store(tmp_path / "store", frames)
    segment = store / "wal" / "00000001.wal"
    start, end = segment_records(segment)[2]  # seq 3 (obs_id 2), valid records after it
    data = bytearray(segment.read_bytes())
    data[(start + end) // 2] ^= 0x10
    segment.write_bytes(bytes(data))

    message = refused(store)
    assert "1 acknowledged record(s) lost, seq 3" in message and "after obs_id 1 of 'cam'" in message
    assert f"damaged bytes (its header says seq 3), {end - start} bytes from byte {start}" in message
    status, report = check(store, capsys)
    assert status == 1 and report["verdict"] == "damaged" and report["lost_records"] == 1
    assert report["lost"][0]["first_seq"] == report["lost"][0]["last_seq"] == 3
    assert report["lost"][0]["after"]["obs_id"] == 1 and report["lost"][0]["before"]["obs_id"] == 3

    repaired = repair(store, capsys)
    (old,) = Path(repaired["quarantine"]).glob("wal/00000001.wal")
    assert old.read_bytes() == bytes(data)  # a copy of what was removed
    memory = DurableMemory(store, CONFIG)  # every other acknowledged frame is back
    assert memory.seq == 6 and memory.replayed == 5
    assert_same(memory.map, reference(frames[:2] + frames[3:]))
    memory.close()
    status, report = check(store, capsys)
    assert status == 0 and report["verdict"] == "ok"


def test_s2_a_cut_acknowledged_record_is_refused(tmp_path, frames, capsys):
    store = write_store(tmp_path / "store", frames)
    segment = store / "wal" / "00000001.wal"
    segment.write_bytes(segment.read_bytes()[:-100])  # the end of the last acknowledged record
    message = refused(store)
    assert "seq 6" in message and "an incomplete record (its header says seq 6)" in message
    status, report = check(store, capsys)
    assert status == 1 and report["lost"][0]["first_seq"] == 6 and report["lost"][0]["after"]["obs_id"] == 4


def test_s3_a_deleted_newest_segment_is_refused(tmp_path, frames, capsys):
    store = write_store(tmp_path / "store", frames, checkpoint_after=3)
    (store / "wal" / "00000002.wal").unlink()
    message = refused(store)
    assert "3 acknowledged record(s) lost, seqs 4-6" in message and "the end of the log is missing" in message
    status, report = check(store, capsys)
    assert status == 1 and report["lost_records"] == 3

    repair(store, capsys)
    memory = DurableMemory(store, CONFIG)  # the checkpoint's frames, and the loss on record in the log
    assert memory.seq == 6 and memory.replayed == 0
    assert_same(memory.map, reference(frames[:3]))
    memory.close()


def test_s4_a_missing_checkpoint_is_refused_not_replaced_by_an_empty_map(tmp_path, frames, capsys):
    store = write_store(tmp_path / "store", frames, checkpoint_after=3)
    assert (store / "CURRENT").read_text().strip() == "ckpt-000001"
    shutil.rmtree(store / "ckpt-000001")
    message = refused(store)
    assert "CURRENT names 'ckpt-000001', which is missing" in message
    assert "3 acknowledged record(s) lost, seqs 1-3" in message
    status, report = check(store, capsys)
    assert status == 1 and report["checkpoint"] == "ckpt-000000"  # what is left: the empty first checkpoint

    repaired = repair(store, capsys)
    assert repaired["lost_records"] == 3
    memory = DurableMemory(store, CONFIG)
    assert memory.seq == 6 and memory.replayed == 3
    assert_same(memory.map, reference(frames[3:]))
    memory.close()


@pytest.mark.slow
def test_s5_a_second_service_on_a_store_exits_at_once(tmp_path, frames):
    store = tmp_path / "store"
    first = serve_process(store)
    try:
        with first.client() as client:
            for frame in frames[:3]:
                client.ingest(frame, "cam")
        second = subprocess.run([mem3d_executable(), "serve", "--store", str(store), "--bind", "tcp://127.0.0.1:*"],
                                capture_output=True, text=True, timeout=120)
        assert second.returncode != 0
        assert f"store {store} is in use by pid {first.process.pid}" in second.stderr
    finally:
        first.kill()  # the kernel drops the lock with the process
    again = serve_process(store)
    try:
        with again.client() as client:
            assert client.stats().log_seq == 3  # nothing lost, and nothing written by the refused one
            client.ingest(frames[3], "cam")
            assert client.stats().log_seq == 4
    finally:
        again.stop()


def test_a_second_writer_in_the_same_process_is_refused(tmp_path, frames):
    memory = DurableMemory(tmp_path, CONFIG)
    memory.ingest([ingest_of(frames[0])])
    with pytest.raises(StoreError, match=f"is in use by pid {os.getpid()}"):
        DurableMemory(tmp_path, CONFIG)
    memory.close()
    DurableMemory(tmp_path, CONFIG).close()  # released with close()
