"""The benchmarks run end to end in a reduced configuration and report sane figures (speed itself is
measured by running them in full: docs/benchmarks.md)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MEM3D = shutil.which("mem3d", path=str(Path(sys.executable).parent))


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


@pytest.mark.slow
def test_service_benchmark_reduced():
    figures = bench("service", "--set", "feature_dim=64", "--set", "n_points=3000", "--set", "throughput_frames=8",
                    "--set", "load_seconds=2", "--set", "query_clients=2")
    assert figures["errors"] == 0 and figures["queries"] > 10
    assert figures["ingest_frames_per_s"] > 0 and figures["query_ms_p99"] >= figures["query_ms_p50"] > 0
    assert figures["frames_ingested"] == 8 + 20


@pytest.mark.parametrize("setting, message", [("voxels=3", "unknown key(s) ['voxels']"),
                                              ("target_voxels=many", "not a valid int"),
                                              ("seed", "is not KEY=VALUE")])
def test_bad_settings_are_refused_clearly(setting, message):
    result = subprocess.run([MEM3D, "bench", "map", "--set", setting], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
