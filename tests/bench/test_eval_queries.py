"""``mem3d eval queries`` runs end to end in a reduced configuration: one apartment, part of its tour."""

import json
import subprocess

import pytest

from mem3d.apps.service_process import mem3d_executable


@pytest.mark.slow
def test_query_evaluation_reduced():
    result = subprocess.run([mem3d_executable(), "eval", "queries", "--json", "--set", "seeds=[1]",
                             "--set", "max_frames=90", "--set", "thresholds=[0.64]", "--set", "reaches=[0.15]",
                             "--set", "tolerances=[0.1]"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["perception"].startswith("label-minilm")
    assert figures["n_queries"] >= 60 and figures["counts"]["attribute"] > 0 and figures["counts"]["compound"] > 0
    assert figures["counts"]["near_absent"] > 0 and figures["counts"]["near_unseen"] > 0
    baseline, new = figures["rules"]["baseline"], figures["rules"]["default"]
    assert new["fp_attribute_compound"] < baseline["fp_attribute_compound"]  # the checks remove false answers
    assert new["fp_near"] <= figures["rules"]["margin"]["fp_near"]  # names keep near categories out
    assert set(figures["rules"]) == {"baseline", "evidence", "terms", "margin", "names", "default"}
    assert "default t=0.64" in figures["sweep_held_out"]
