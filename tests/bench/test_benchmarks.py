"""The benchmarks run end to end in a reduced configuration, through the one ``mem3d bench NAME``
entry, and report sane figures (speed itself is measured by running them in full: docs/benchmarks.md)."""

import json
import subprocess

import pytest

from mem3d.apps.cli import main
from mem3d.apps.service_process import mem3d_executable

MEM3D = mem3d_executable()
STAGES = {"validate", "encode", "sample", "unproject", "carve_depth", "total"}


def bench(*args: str) -> dict:
    result = subprocess.run([MEM3D, "bench", *args, "--json"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.slow
def test_map_benchmark_reduced():
    figures = bench("map", "--set", "target_voxels=30000", "--set", "feature_dim=64", "--set", "n_points=6000",
                    "--set", "width=320", "--set", "height=240", "--set", "sweep_frames=8", "--set", "n_queries=10")
    for key in ("frames_per_s", "query_ms_p50", "query_ms_p99", "bytes_per_voxel", "n_voxels", "speedup_vs_rebuild"):
        assert figures[key] > 0, key
    assert figures["n_voxels"] >= 30000
    assert figures["carved_voxels_in_sweep"] > 0 and figures["units_moved"] > 0
    assert figures["queries_near_a_mapped_concept_found"] == "5/5"
    assert figures["queries_unrelated_found"] == "0/5"
    assert figures["speedup_vs_rebuild"] > 1
    tail = figures["tail_frames"]  # the frames at or over the p99, with what they did and cost
    assert tail and all(frame["wall_ms"] >= figures["frame_ms_p99"] for frame in tail)
    assert all(frame["cpu_ms"] > 0 and frame["added"] + frame["updated"] > 0 for frame in tail)
    assert 0 < figures["frame_cpu_ms_p50"] <= figures["frame_cpu_ms_p99"]


@pytest.mark.slow
def test_service_benchmark_reduced():
    figures = bench("service", "--set", "feature_dim=64", "--set", "n_points=3000", "--set", "throughput_frames=8",
                    "--set", "load_seconds=2", "--set", "query_clients=2")
    assert figures["errors"] == 0 and figures["queries"] > 10
    assert figures["ingest_frames_per_s"] > 0 and figures["query_ms_p99"] >= figures["query_ms_p50"] > 0
    assert figures["frames_ingested"] == 8 + 20
    assert 0 < figures["service_cpu_cores"] <= figures["machine"]["cpus"]
    assert 0 < figures["client_cpu_ms_per_query"] < figures["query_ms_p99"] * 2  # CPU a query costs its client


@pytest.mark.parametrize("setting, message", [("voxels=3", "unknown key(s) ['voxels']"),
                                              ("target_voxels=many", "not a valid int"),
                                              ("seed", "is not KEY=VALUE")])
def test_bad_settings_are_refused_clearly(setting, message):
    result = subprocess.run([MEM3D, "bench", "map", "--set", setting], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr


def test_perception_benchmark_prints_one_json_object_with_both_paths(capsys, tiny_clip_checkpoint):
    # in process: the tiny architecture registered with open_clip by the fixture stands in for ViT-B-32
    code = main(["bench", "perception", "--json", "--set", "label_frames=3", "--set", "clip_frames=2",
                 "--set", "views=2", "--set", "clip_arch=mem3d-test-tiny-vit", "--set", "clip_input_long_side=128"])
    out = capsys.readouterr().out
    assert code == 0 and out.count("\n") == 1
    result = json.loads(out)
    assert result["image_size"] == [640, 480] and result["samples_per_frame"] == 20_000
    label, clip = result["label"], result["open_clip"]
    assert label["frames_per_s"] > 0 and clip["frames_per_s"] > 0
    assert set(label["ms_per_frame"]) == STAGES == set(clip["ms_per_frame"])
    assert label["points_per_frame"] == 20_000
    assert clip["architecture"] == "mem3d-test-tiny-vit" and clip["input_size"] == [128, 96]
    assert clip["model"] == "open-clip/mem3d-test-tiny-vit/random-init"


def test_sim_benchmark_prints_its_figures_and_progress(capsys):
    code = main(["bench", "sim", "--set", "frames=2", "--set", "repeats=1", "--set", "width=96", "--set", "height=72"])
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert code == 0 and "frames/s" in captured.err  # progress on stderr without --json
    assert result["frames_per_s"] > 0 and result["depth_max_abs_error_m"] < 1e-4
    assert result["depth_pixels_checked"] > 96 * 72 * 4  # the depth check covers many pixels
    assert result["width"] == 96 and result["n_objects"] >= 40


@pytest.mark.parametrize("name, setting, message", [
    ("perception", "label_frames=0", "label_frames must be >= 1, got 0"),
    ("sim", "repeats=0", "repeats must be >= 1, got 0"),
    ("sim", "frame=3", "unknown key(s) ['frame']"),
])
def test_bad_settings_of_every_benchmark_are_one_line_errors(capsys, name, setting, message):
    assert main(["bench", name, "--set", setting]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("command", ["sim", "perceive"])
def test_the_old_benchmark_commands_are_gone(capsys, command):
    with pytest.raises(SystemExit):
        main([command, "bench"])
    assert "invalid choice: 'bench'" in capsys.readouterr().err


@pytest.mark.edge
def test_query_benchmark_times_cold_processes(tmp_path, label_encoder, capsys):
    from tests.helpers.sim_store import write_sim_store

    store, _ = write_sim_store(tmp_path / "store", label_encoder, views=8)
    assert main(["bench", "query", "--json", "--set", f"store={store}", "--set", "runs=1"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["perception"] == "label-minilm" and result["n_voxels"] > 0 and not result["made_store"]
    assert result["further_query_s"]["n"] == 9  # ten texts in one call: nine after the first
    assert 0 < result["open_s_median"] < result["cold_single_query_s"]["median"]
