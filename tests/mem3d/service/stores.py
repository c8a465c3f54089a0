"""Stores for the durability tests: synthetic frames, their reference map, stores written by
``DurableMemory`` and a look at every byte of a store (to show that something changed nothing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mem3d.geometry import look_at
from mem3d.protocol.messages import frame_to_message
from mem3d.protocol.wire import encode
from mem3d.service.durable import DurableMemory, Ingest
from mem3d.voxel_map import MapConfig, VoxelMap
from tests.helpers.synthetic_room import DIM, frame_of

CONFIG = MapConfig(feature_dim=DIM, feature_model="synthetic")


def poses(n: int) -> list[np.ndarray]:
    return [look_at((-1.0 + 0.2 * i, 0.3 * i, 1.2), (3.0, 0.0, 0.4)) for i in range(n)]


def make_frames(scene, concepts, camera, n: int) -> list:
    """``n`` frames of the room from moving viewpoints, obs_ids 0..n-1."""
    return [frame_of(scene, concepts, camera, i, T_world_camera=pose) for i, pose in enumerate(poses(n))]


def ingest_of(frame, source: str = "cam") -> Ingest:
    return Ingest([bytes(f) for f in encode(frame_to_message(frame, source))], frame, source)


def reference(frames) -> VoxelMap:
    voxel_map = VoxelMap(CONFIG)
    for frame in frames:
        voxel_map.update(frame)
    return voxel_map


def assert_same(a: VoxelMap, b: VoxelMap) -> None:
    va, vb = a.voxels(), b.voxels()
    for name in va.__dataclass_fields__:
        assert np.array_equal(getattr(va, name), getattr(vb, name)), name


def crash(memory: DurableMemory) -> None:
    """The process dies here, as far as the store can tell: no final checkpoint (the lock goes with it)."""
    memory.close(checkpoint=False)


def write_store(store: Path, frames, checkpoint_after: int | None = None) -> Path:
    """A store holding ``frames`` (seqs 1..n), a checkpoint after the first ``checkpoint_after``,
    the rest only in the log."""
    memory = DurableMemory(store, CONFIG)
    cut = len(frames) if checkpoint_after is None else checkpoint_after
    memory.ingest([ingest_of(f) for f in frames[:cut]])
    if checkpoint_after is not None:
        memory.checkpoint(wait=True)
        memory.ingest([ingest_of(f) for f in frames[cut:]])
    crash(memory)
    return store


def contents_of(store: Path) -> dict[str, bytes]:
    """Every file of a store by relative path (LOCK aside, which holders rewrite)."""
    return {str(p.relative_to(store)): p.read_bytes() for p in sorted(store.rglob("*"))
            if p.is_file() and p.name != "LOCK"}
