"""``mem3d info`` and ``mem3d export``: facts that match the store (also while a writer holds it),
PLY files that open3d reads back, Rerun recordings that rerun-sdk reads back."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from mem3d.apps.offline import open_view, text_encoder_for
from tests.helpers.cli import assert_one_line_error, run_cli, tree

pytestmark = pytest.mark.edge


def test_info_matches_the_store(sim_store, capsys):
    store, _ = sim_store
    status, out, _ = run_cli(capsys, "info", store, "--json")
    assert status == 0
    info = json.loads(out)
    view = open_view(store)
    positions = view.voxel_map.contents().columns["position"]
    assert info["n_voxels"] == len(view.voxel_map) > 1000
    assert info["frames"] == 40 and info["replayed"] == 10 and info["checkpoint"] == "ckpt-000001"
    assert info["sources"] == {"sim-test": 39}  # obs 0..39, the last ten from the log
    assert info["extent_min"] == pytest.approx(positions.min(0), abs=1e-3)
    assert info["extent_max"] == pytest.approx(positions.max(0), abs=1e-3)
    assert info["feature_model"] == "label-minilm/all-MiniLM-L6-v2" and info["feature_dim"] == 384
    assert 0 <= info["first_seen"] < info["last_seen"]
    assert info["places"] >= 1 and info["keyframes"] >= 1 and info["instances"] >= 1  # the episodic memory
    assert info["disk_bytes"] == sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
    status, text, _ = run_cli(capsys, "info", store)
    assert f"{info['n_voxels']:,} of 5 cm" in text and "40 acknowledged (10 in the log" in text


def test_info_reads_a_store_that_a_writer_holds(sim_store, tmp_path, capsys):
    """A child process holds the write lock (as ``mem3d serve`` does); info reads without it."""
    store, _ = sim_store
    before = tree(store)
    code = ("import sys, time; from mem3d.io.lock import StoreLock; StoreLock.acquire(sys.argv[1]); "
            "print('locked', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(store)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        status, out, _ = run_cli(capsys, "info", store, "--json")
        assert status == 0 and json.loads(out)["in_use_by_pid"] == holder.pid
    finally:
        holder.kill()
        holder.wait()
    assert tree(store) == before


def test_the_ply_round_trips_with_open3d(sim_store, tmp_path, capsys):
    import open3d as o3d

    store, _ = sim_store
    columns = open_view(store).voxel_map.contents().columns
    status, out, _ = run_cli(capsys, "export", store, "--ply", tmp_path / "map.ply")
    assert status == 0 and "coloured by RGB" in out
    cloud = o3d.io.read_point_cloud(str(tmp_path / "map.ply"))
    assert np.allclose(np.asarray(cloud.points), columns["position"], atol=1e-5)
    assert np.array_equal(np.round(np.asarray(cloud.colors) * 255).astype(np.uint8), columns["color"])

    status, _, _ = run_cli(capsys, "export", store, "--ply", tmp_path / "bed.ply", "--query", "bed")
    assert status == 0
    heat = np.asarray(o3d.io.read_point_cloud(str(tmp_path / "bed.ply")).colors)
    brightest = np.argmax(heat.sum(1))  # inferno: the best match is the brightest colour
    view = open_view(store)
    config = view.voxel_map.config
    embedding = text_encoder_for(config.feature_model, config.feature_dim).encode_text(["bed"])[0]
    best = view.voxel_map.localize(embedding).candidates[0]
    point = np.asarray(cloud.points)[brightest]
    assert np.all(point >= np.asarray(best.bbox_min) - 1e-3) and np.all(point <= np.asarray(best.bbox_max) + 1e-3)


def test_a_rerun_recording_is_written_and_read_back(sim_store, tmp_path, capsys):
    try:
        from rerun.chunk import RrdReader
    except ModuleNotFoundError:
        pytest.skip("rerun-sdk is not installed here (pip install 'mem3d[rerun]'): the recording is not checked")
    store, _ = sim_store
    status, out, _ = run_cli(capsys, "export", store, "--rerun", tmp_path / "map.rrd", "--query", "bed")
    assert status == 0 and "10 camera poses" in out  # the ten frames after the checkpoint
    chunks = {c.entity_path: c for c in RrdReader(tmp_path / "map.rrd").stream().to_chunks()}
    assert {"/world/map", "/world/similarity", "/world/trajectory", "/world/camera"} <= set(chunks)
    batch = chunks["/world/map"].to_record_batch()
    positions = batch.column(batch.schema.names.index("Points3D:positions"))[0]
    assert len(positions) == len(open_view(store).voxel_map)
    assert "stamp" in chunks["/world/camera"].timeline_names and chunks["/world/camera"].num_rows == 10


@pytest.mark.parametrize("argv, message", [
    ([], "nothing to export: give --ply OUT.ply and/or --rerun OUT.rrd"),
    (["--ply", "{tmp}/map.obj"], "--ply needs a path ending in .ply, got map.obj"),
    (["--rerun", "{tmp}/map.ply"], "--rerun needs a path ending in .rrd, got map.ply"),
])
def test_bad_exports_fail_in_one_line_and_create_nothing(sim_store, tmp_path, capsys, argv, message):
    store, _ = sim_store
    before = tree(store)
    status, out, err = run_cli(capsys, "export", store, *[a.format(tmp=tmp_path) for a in argv])
    assert status == 1 and out == ""
    assert_one_line_error(err, "export", message)
    assert list(tmp_path.iterdir()) == [] and tree(store) == before


def test_info_on_a_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "store.zarr"
    path.write_text("not a store")
    status, _, err = run_cli(capsys, "info", path)
    assert status == 1
    assert_one_line_error(err, "info", "is a file, not a store")
    assert os.listdir(tmp_path) == ["store.zarr"]
