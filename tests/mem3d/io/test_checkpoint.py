"""Saving and loading maps: exact round trip, metadata checks, damage detection, crash safety."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mem3d.errors import SchemaMismatchError, StoreError
from mem3d.io.checkpoint import list_checkpoints, load_map, load_map_with_attrs, save_map
from tests.helpers.synthetic_room import DIM, MUG, observe
from tests.mem3d.map.compare import assert_same_map


@pytest.fixture
def observed(new_map, scene, concepts, camera):
    observe(new_map, scene, concepts, camera, range(3))
    return new_map


def test_round_trip_is_exact_and_answers_the_same(observed, concepts, tmp_path):
    name = save_map(observed, tmp_path / "map", extra_attrs={"log_position": 42})
    loaded, extra = load_map_with_attrs(tmp_path / "map")
    assert name == "ckpt-000001" and extra == {"log_position": 42}
    assert_same_map(observed, loaded)
    assert loaded.localize(concepts[MUG]) == observed.localize(concepts[MUG])


def test_checkpoints_compressed_with_zstd_before_lz4_still_load(observed, tmp_path, monkeypatch):
    """Stores written before the codec became LZ4 (zstd level 1) load, exactly; new ones are LZ4."""
    from zarr.codecs import ZstdCodec

    import mem3d.io.checkpoint as checkpoint

    with monkeypatch.context() as patched:
        patched.setattr(checkpoint, "_compressor", lambda dtype: ZstdCodec(level=1))
        save_map(observed, tmp_path / "old")
    save_map(observed, tmp_path / "new")
    codecs = {name: json.loads((tmp_path / name / "ckpt-000001" / "voxels" / "feature" / "zarr.json").read_text()
                               )["codecs"][-1]["name"] for name in ("old", "new")}
    assert codecs == {"old": "zstd", "new": "blosc"}
    assert_same_map(observed, load_map(tmp_path / "old"))
    assert_same_map(observed, load_map(tmp_path / "new"))


def test_saving_again_keeps_the_newest_checkpoints(observed, tmp_path):
    for _ in range(4):
        save_map(observed, tmp_path, keep=2)
    assert list_checkpoints(tmp_path) == ["ckpt-000003", "ckpt-000004"]
    assert (tmp_path / "CURRENT").read_text().strip() == "ckpt-000004"
    assert_same_map(observed, load_map(tmp_path, checkpoint="ckpt-000003"))


def test_metadata_is_checked_on_load(observed, tmp_path):
    save_map(observed, tmp_path)
    load_map(tmp_path, feature_dim=DIM, feature_model="synthetic", voxel_size=0.05)
    for wrong in ({"feature_dim": 512}, {"feature_model": "ViT-B-32"}, {"voxel_size": 0.1}):
        with pytest.raises(SchemaMismatchError):
            load_map(tmp_path, **wrong)
    checkpoint = tmp_path / "ckpt-000001" / "zarr.json"
    meta = json.loads(checkpoint.read_text())
    meta["attributes"]["schema_version"] = 99
    checkpoint.write_text(json.dumps(meta))
    with pytest.raises(SchemaMismatchError, match="schema version 99"):
        load_map(tmp_path)


@pytest.mark.parametrize("tamper", ["drop checksums", "drop n_voxels", "drop config", "feature_dim",
                                    "voxel_size", "n_voxels", "drop metadata_crc"])
def test_altered_metadata_is_detected(observed, tmp_path, tamper):
    save_map(observed, tmp_path)
    checkpoint = tmp_path / "ckpt-000001" / "zarr.json"
    meta = json.loads(checkpoint.read_text())
    attributes = meta["attributes"]
    if tamper.startswith("drop "):
        del attributes[tamper[5:]]
    elif tamper == "n_voxels":
        attributes["n_voxels"] -= 1
    else:
        attributes["config"][tamper] = attributes["config"][tamper] * 2
    checkpoint.write_text(json.dumps(meta))
    with pytest.raises(StoreError, match="metadata"):
        load_map(tmp_path)


def chunk_files(store: Path, column: str) -> list[Path]:
    return sorted(p for p in (store / "ckpt-000001" / "voxels" / column).rglob("*") if p.is_file()
                  and p.name != "zarr.json")


@pytest.mark.parametrize("damage", ["truncate", "delete", "flip"])
def test_a_damaged_store_is_detected(observed, tmp_path, damage):
    save_map(observed, tmp_path)
    chunk = chunk_files(tmp_path, "feature")[0]
    if damage == "truncate":
        chunk.write_bytes(chunk.read_bytes()[: chunk.stat().st_size // 2])
    elif damage == "delete":
        chunk.unlink()
    else:
        data = bytearray(chunk.read_bytes())
        data[len(data) // 2] ^= 0xFF
        chunk.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="damaged"):
        load_map(tmp_path)


def test_not_a_store_and_broken_pointer_are_clear_errors(observed, tmp_path):
    with pytest.raises(StoreError, match="not a mem3d map store"):
        load_map(tmp_path / "nowhere")
    save_map(observed, tmp_path)
    (tmp_path / "CURRENT").write_text("ckpt-000009\n")
    with pytest.raises(StoreError, match="not a checkpoint"):
        load_map(tmp_path)
    with pytest.raises(StoreError, match="no checkpoint"):
        load_map(tmp_path, checkpoint="../../etc")


SAVER = """
import sys, json, numpy as np
from tests.helpers.synthetic_room import DIM
from mem3d.io.checkpoint import save_map
from mem3d.types import FeatureFrame
from mem3d.voxel_map import MapConfig, VoxelMap

def frame(seed):
    rng = np.random.default_rng(seed)
    points = rng.uniform(-20, 20, (60_000, 3)).astype(np.float32)
    features = rng.standard_normal((64, DIM)).astype(np.float32)
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    return FeatureFrame(points, np.zeros((60_000, 3), np.uint8), features,
                        rng.integers(0, 64, 60_000).astype(np.int32), np.eye(4), float(seed), seed)

m = VoxelMap(MapConfig(feature_dim=DIM))
m.integrate(frame(1))
save_map(m, sys.argv[1])
print(json.dumps({"n": len(m), "keys": int(m.voxels().keys.sum() % (1 << 61))}), flush=True)
m.integrate(frame(2))
print(json.dumps({"n": len(m), "keys": int(m.voxels().keys.sum() % (1 << 61))}), flush=True)
while True:
    save_map(m, sys.argv[1])
"""


@pytest.mark.slow
def test_killing_a_save_midway_leaves_a_loadable_correct_store(tmp_path):
    """SIGKILL a process while it saves, many times: the store always loads one complete state."""
    script = tmp_path / "saver.py"
    script.write_text(SAVER)
    rng = np.random.default_rng(0)
    interrupted = 0
    for attempt in range(3):
        store = tmp_path / f"store{attempt}"
        repo = Path(__file__).resolve().parents[3]  # where the tests package is importable from
        child = subprocess.Popen([sys.executable, str(script), str(store)], stdout=subprocess.PIPE, text=True,
                                 env={**os.environ, "PYTHONPATH": str(repo)})
        first = json.loads(child.stdout.readline())
        second = json.loads(child.stdout.readline())
        time.sleep(float(rng.uniform(0.0, 0.6)))  # somewhere inside one of the repeated saves
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        interrupted += any(store.glob(".staging-*"))
        loaded = load_map(store)
        state = {"n": len(loaded), "keys": int(loaded.voxels().keys.sum() % (1 << 61))}
        assert state in (first, second)
    assert interrupted >= 2  # the kills really landed in the middle of saves
