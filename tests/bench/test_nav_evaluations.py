"""The navigation benchmark and the localization / navigation evaluations, end to end in a reduced
configuration (their full figures are in docs/benchmarks.md and docs/evaluation.md)."""

from __future__ import annotations

import pytest

from bench import eval_localize, eval_nav, nav_bench, nav_world


def test_nav_benchmark_reduced():
    figures = nav_bench.run(nav_bench.NavBenchConfig(n_voxels=40_000, frames=4, size_m=8.0, plans=2, frame_updated=800,
                                                     frame_added=300, frame_removed=50), show_progress=False)
    assert figures["n_voxels"] == 40_000
    for key in ("occupancy_update_ms_p50", "astar_ms_p50", "dijkstra_field_ms_p50", "frontier_update_ms_p50"):
        assert figures[key] > 0, key
    assert figures["astar_grid_cells"] == [160, 160] and figures["astar_expanded_p50"] > 160


@pytest.mark.slow
def test_nav_evaluation_reduced():
    result = eval_nav.run(eval_nav.NavEvalConfig(n_episodes=1, goals_per_episode=2, moved_index=-1,
                                                 max_actions_per_goal=150), show_progress=False)
    assert result["n_episodes"] == 1 and result["n_subtasks"] == 2 and result["perception"] == "label-minilm"
    for key in ("success_rate", "spl", "multi_goal_success_rate", "no_memory_spl"):
        assert 0.0 <= result[key] <= 1.0, key
    assert len(result["subtask_sr_by_index"]) == len(result["subtask_spl_by_index"]) == 2
    for row in result["subtasks"]:
        assert row["spl"] <= float(row["success"]) and row["shortest_m"] > 0
        assert row["spl"] == 0 or row["travelled_m"] >= row["shortest_m"] * row["spl"] - 1e-9
    assert result["success_rate"] > 0  # the label-perception agent reaches something


@pytest.mark.slow
def test_localize_evaluation_reduced():
    result = eval_localize.run(eval_localize.LocalizeEvalConfig(n_episodes=1, explore_actions=60, revisit_actions=20,
                                                                n_unmoved=3), show_progress=False)
    assert result["n_queries"] == len(result["queries"]) >= 4
    assert result["unmoved_n"] == 3 and result["removed_n"] == 2
    assert 0 <= result["static_baseline_success_rate"] <= result["success_rate"] <= 1


def test_episodes_run_in_worker_processes_give_every_seed_its_result():
    serial = dict(nav_world.episodes(abs, [-3, 4, -5], workers=1))
    parallel = dict(nav_world.episodes(abs, [-3, 4, -5], workers=2))
    assert serial == parallel == {-3: 3, 4: 4, -5: 5}
