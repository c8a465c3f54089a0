"""Readers of a store (``open_store_readonly``, ``mem3d map info``): no lock, no write, the
acknowledged frames of the log included, and only whole frames while a service writes."""

import json
import queue
import subprocess
import threading

import numpy as np
import pytest

from mem3d.apps.service_process import mem3d_executable
from mem3d.errors import StoreError
from mem3d.service.durable import DurableMemory
from mem3d.service.store_view import open_store_readonly
from tests.helpers.synthetic_room import serve_process
from tests.mem3d.service.stores import (
    CONFIG,
    assert_same,
    contents_of,
    crash,
    ingest_of,
    make_frames,
    reference,
    write_store,
)


@pytest.fixture
def frames(scene, concepts, camera):
    return make_frames(scene, concepts, camera, 6)


def test_a_reader_sees_the_log_after_the_checkpoint_and_writes_nothing(tmp_path, frames):
    store = write_store(tmp_path / "store", frames, checkpoint_after=2)
    before = contents_of(store)
    view = open_store_readonly(store)
    assert (view.checkpoint, view.seq, view.replayed) == ("ckpt-000001", 6, 4)
    assert_same(view.voxel_map, reference(frames))
    assert contents_of(store) == before


def test_a_reader_opens_a_store_its_writer_holds(tmp_path, frames):
    memory = DurableMemory(tmp_path, CONFIG)
    memory.ingest([ingest_of(f) for f in frames[:3]])  # no checkpoint written yet but the empty first one
    view = open_store_readonly(tmp_path)
    assert view.seq == 3
    assert_same(view.voxel_map, memory.map)
    memory.close()


def test_a_record_being_written_is_a_torn_tail_for_a_reader(tmp_path, frames):
    memory = DurableMemory(tmp_path, CONFIG)
    memory.ingest([ingest_of(f) for f in frames[:3]])
    segment = tmp_path / "wal" / "00000001.wal"
    whole = segment.read_bytes()
    from mem3d.io.wal_format import encode_record

    record = encode_record(4, ingest_of(frames[3]).frames)
    for cut in (3, 30, len(record) // 2, len(record) - 1):  # the writer in the middle of its append
        segment.write_bytes(whole + record[:cut])
        view = open_store_readonly(tmp_path)
        assert view.seq == 3 and view.report.verdict.value == "torn tail"
        assert segment.read_bytes() == whole + record[:cut]  # left as it is
    assert_same(view.voxel_map, reference(frames[:3]))
    segment.write_bytes(whole)
    memory.close()


def test_a_damaged_store_is_refused_to_readers_too(tmp_path, frames):
    store = write_store(tmp_path / "store", frames)
    (store / "CURRENT").unlink()
    with pytest.raises(StoreError, match="CURRENT is missing"):
        open_store_readonly(store)


def test_a_store_without_checkpoint_or_log_is_not_a_store(tmp_path):
    with pytest.raises(StoreError, match="not a mem3d map store"):
        open_store_readonly(tmp_path / "nowhere")


@pytest.mark.slow
def test_map_info_on_a_live_store_and_readers_during_writes(tmp_path, scene, concepts, camera):
    """While a real service ingests (checkpointing every 3 frames), readers open the store again and
    again: each sees the map of a whole number of frames, exactly."""
    frames = make_frames(scene, concepts, camera, 12)
    prefixes, growing = [], reference([])
    prefixes.append(growing.voxels())
    for frame in frames:
        growing.update(frame)
        prefixes.append(growing.voxels())
    store = tmp_path / "store"
    service = serve_process(store, "--checkpoint-every-frames", "3")
    try:
        with service.client() as client:
            client.ingest(frames[0], "cam")
            client.ingest(frames[1], "cam")
            info = subprocess.run([mem3d_executable(), "map", "info", str(store)], capture_output=True, text=True,
                                  timeout=120)
            assert info.returncode == 0, info.stderr
            assert json.loads(info.stdout)["n_voxels"] == client.stats().n_voxels  # before any save
            assert json.loads(info.stdout)["log_seq"] == 2

            views = queue.Queue()  # a token per reader view, so that the sender can wait for views

            def stream():
                with service.client() as sender:
                    for k, frame in enumerate(frames[2:]):
                        sender.ingest(frame, "cam")
                        if k < 2:  # the second view after this ack started after it: it sees exactly this frame
                            while not views.empty():
                                views.get_nowait()
                            views.get(timeout=60)
                            views.get(timeout=60)

            sender = threading.Thread(target=stream)
            sender.start()
            seen = set()
            while sender.is_alive() or not seen:
                view = open_store_readonly(store)
                voxels = view.voxel_map.voxels()
                expected = prefixes[view.seq]
                for name in expected.__dataclass_fields__:
                    assert np.array_equal(getattr(voxels, name), getattr(expected, name)), (view.seq, name)
                seen.add(view.seq)
                views.put(view.seq)
            sender.join()
            assert open_store_readonly(store).seq == 12
            assert {3, 4} <= seen  # the readers really overlapped the writes
    finally:
        service.stop()


def test_a_crashed_writer_leaves_a_store_readers_open(tmp_path, frames):
    memory = DurableMemory(tmp_path, CONFIG)
    memory.ingest([ingest_of(f) for f in frames[:2]])
    crash(memory)
    assert open_store_readonly(tmp_path).seq == 2
