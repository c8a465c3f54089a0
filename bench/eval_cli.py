"""``mem3d eval NAME [--json] [--set KEY=VALUE ...]``: run a seeded evaluation and print its metrics.

Evaluations are long, reproducible runs on generated apartments that score the memory, the planners
or the episodic answers against the simulator's ground truth (which only scores, never feeds them).
Each is a module like a benchmark (``bench/cli.py``): a frozen config dataclass and
``run(config, show_progress) -> dict``; tests run them with a reduced configuration.
"""

from __future__ import annotations

import argparse

from bench.cli import Benchmark, add_registry_arguments, run_from_registry

EVALUATIONS: dict[str, Benchmark] = {
    "localize": Benchmark("bench.eval_localize", "LocalizeEvalConfig",
                          "dynamic localization after rearrangement, with the static (no carving) baseline"),
    "nav": Benchmark("bench.eval_nav", "NavEvalConfig",
                     "multi-goal navigation from memory: SR, SPL, no-memory baseline"),
    "queries": Benchmark("bench.eval_queries", "QueryEvalConfig",
                         "query precision and recall: paraphrases, small objects, attribute and compound queries"),
    "episodic": Benchmark("bench.eval_episodic", "EpisodicEvalConfig",
                          "episodic memory: where / when / changes / routes over rearranged apartments"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_registry_arguments(parser, EVALUATIONS)


def run(args: argparse.Namespace) -> int:
    return run_from_registry(EVALUATIONS, args)
