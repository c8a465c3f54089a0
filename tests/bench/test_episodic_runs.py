"""``mem3d bench episodic`` and ``mem3d eval episodic`` run end to end in a reduced configuration
through the command line, each printing one JSON object with the figures the issue names."""

import json
import subprocess

import pytest

from mem3d.apps.service_process import mem3d_executable

MEM3D = mem3d_executable()


def command(*args: str) -> dict:
    result = subprocess.run([MEM3D, *args, "--json"], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.slow
def test_episodic_benchmark_reduced():
    figures = command("bench", "episodic", "--set", "target_voxels=20000", "--set", "query_repeats=5",
                      "--set", "width=160", "--set", "height=120", "--set", "n_points=3000")
    assert figures["n_voxels"] >= 20000 and figures["n_keyframes"] > 0 and figures["n_instances"] > 0
    assert figures["scale_reached"] is False  # the scale needs the full walk: the bench says so
    assert figures["record_ms_p50"] > 0 and figures["update_ms_p50"] > 0
    assert figures["record_ms_p50_at_scale"] > 0 and figures["record_cpu_ms_p50_at_scale"] > 0
    assert set(figures["query_ms"]) == {"where_last_seen", "history", "when_seen", "changes_since", "what_was_at",
                                        "route"}


@pytest.mark.slow
@pytest.mark.edge
def test_episodic_evaluation_reduced():
    figures = command("eval", "episodic", "--set", "scenes=[1]", "--set", "rearrangements=1", "--set", "width=160",
                      "--set", "height=120", "--set", "n_samples=4000", "--set", "route_pairs=5")
    for key in ("position_error_m_median", "position_error_m_p90", "where_last_seen_accuracy", "time_error_s_median",
                "binary_accuracy", "change_precision", "change_recall", "route_valid_rate"):
        assert 0.0 <= figures[key] < 10.0, key
    assert figures["perception"] == "label-minilm" and figures["n_questions"] > 100
    assert figures["where_last_seen_accuracy"] > 0.5 and figures["change_precision"] > 0.5  # a working memory
