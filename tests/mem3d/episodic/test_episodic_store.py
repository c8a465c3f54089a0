"""The episodic memory in a store: saved with each checkpoint, rebuilt by log replay after a crash or a
SIGKILL exactly as it was, and a damaged episodic part refuses to open (never an empty memory)."""

import numpy as np
import pytest

from mem3d.episodic.memory import EpisodicMemory
from mem3d.episodic.state import to_state
from mem3d.errors import StoreError
from mem3d.io.episodic_store import EPISODIC, KEYFRAMES, state_path
from mem3d.io.repair import repair_store
from mem3d.io.verify import Verdict, inspect_store
from mem3d.service.durable import DurableMemory
from mem3d.service.store_view import open_store_readonly
from mem3d.voxel_map import VoxelMap
from tests.helpers.synthetic_room import ingest_then_kill, serve_process
from tests.mem3d.service.stores import CONFIG, crash, ingest_of, make_frames


@pytest.fixture
def frames(scene, concepts, camera):
    return make_frames(scene, concepts, camera, 12)


def recorded(frames) -> EpisodicMemory:
    """The episodic memory of ``frames`` recorded in this process (log seqs 1..n)."""
    voxel_map = VoxelMap(CONFIG)
    memory = EpisodicMemory(None, voxel_map.voxel_size, CONFIG.localize.threshold)
    for seq, frame in enumerate(frames, start=1):
        memory.record(frame, voxel_map.update(frame), voxel_map, seq)
    return memory


def assert_same(a: EpisodicMemory, b: EpisodicMemory) -> None:
    (header_a, arrays_a), (header_b, arrays_b) = to_state(a), to_state(b)
    assert header_a == header_b
    assert arrays_a.keys() == arrays_b.keys()
    for name in arrays_a:
        assert np.array_equal(arrays_a[name], arrays_b[name]), name


def write(store, frames, checkpoint_after: int) -> None:
    memory = DurableMemory(store, CONFIG)
    memory.ingest([ingest_of(f) for f in frames[:checkpoint_after]])
    memory.checkpoint(wait=True)
    memory.ingest([ingest_of(f) for f in frames[checkpoint_after:]])
    crash(memory)


def test_the_episodic_memory_survives_a_crash_and_a_clean_restart(tmp_path, frames):
    reference = recorded(frames)
    assert reference.instances and len(reference.places) >= 2 and reference.keyframes
    write(tmp_path / "store", frames, checkpoint_after=5)
    assert state_path(tmp_path / "store", "ckpt-000001").exists()
    memory = DurableMemory(tmp_path / "store", CONFIG)  # checkpoint 1 + 7 frames replayed
    assert memory.replayed == 7
    assert_same(memory.episodic, reference)
    memory.close()  # a final checkpoint, with its episodic state
    memory = DurableMemory(tmp_path / "store", CONFIG)
    assert memory.replayed == 0
    assert_same(memory.episodic, reference)
    images = memory.episodic.keyframe_images(max(memory.episodic.keyframes))
    assert images.depth_png[:4] == b"\x89PNG"
    memory.close()
    assert_same(open_store_readonly(tmp_path / "store").episodic, reference)


@pytest.mark.parametrize("damage", ["flip a byte of the state", "delete the state", "delete a keyframe"])
def test_a_damaged_episodic_part_refuses_to_open(tmp_path, frames, damage):
    store = tmp_path / "store"
    write(store, frames, checkpoint_after=8)
    state = state_path(store, "ckpt-000001")
    if damage == "flip a byte of the state":
        data = bytearray(state.read_bytes())
        data[len(data) // 2] ^= 0x40
        state.write_bytes(bytes(data))
    elif damage == "delete the state":
        state.unlink()
    else:
        next((store / EPISODIC / KEYFRAMES).glob("kf-*.png")).unlink()
    before = sorted((p.name, p.stat().st_size) for p in store.rglob("*") if p.is_file())
    for open_it in (lambda: DurableMemory(store, CONFIG), lambda: open_store_readonly(store)):
        with pytest.raises(StoreError, match="episodic|keyframe"):
            open_it()
    assert sorted((p.name, p.stat().st_size) for p in store.rglob("*") if p.is_file()) == before
    assert inspect_store(store).verdict is Verdict.DAMAGED  # `mem3d store check` says the same
    assert repair_store(store, accept_loss=True).changed  # the episodic part is set aside, the map kept
    memory = DurableMemory(store, CONFIG)
    assert memory.seq == len(frames) and memory.replayed == len(frames) - 8
    memory.close()


@pytest.mark.slow
def test_the_episodic_memory_survives_sigkill_during_ingest(tmp_path, scene, concepts, camera):
    frames = make_frames(scene, concepts, camera, 24)
    store = tmp_path / "store"
    service = serve_process(store, "--checkpoint-every-frames", "6")
    acked = ingest_then_kill(service, frames, 14)  # past two checkpoints
    assert 14 <= len(acked) < len(frames)
    service = serve_process(store)
    try:
        with service.client() as client:
            applied = client.stats().log_seq
            assert applied >= len(acked)
            places = client.places()
            assert places.seq == applied
            reference = recorded(frames[:applied])
            assert len(places.places) == len(reference.places)
            client.shutdown()
        service.wait(timeout=30)
    finally:
        service.kill()
    assert_same(open_store_readonly(store).episodic, reference)
