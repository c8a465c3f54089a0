"""``mem3d bench NAME [--json] [--set KEY=VALUE ...]``: run a benchmark and print one JSON object.

Every benchmark is a module with a frozen config dataclass (its settings, all with defaults) and
``run(config, show_progress) -> dict``; ``--set`` changes a setting, typed by that dataclass.
Progress goes to stderr unless ``--json`` asks for the JSON object alone.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from dataclasses import dataclass

from mem3d.config import config_from_dict, options_from_strings


@dataclass(frozen=True)
class Benchmark:
    module: str
    """Imported only when the benchmark runs (the perception and sim ones need torch, open3d)."""
    config: str
    """Name of the module's config dataclass."""
    help: str


BENCHMARKS: dict[str, Benchmark] = {
    "map": Benchmark("bench.map_bench", "MapBenchConfig", "voxel map: integration + carving speed, queries, memory"),
    "service": Benchmark("bench.service_bench", "ServiceBenchConfig",
                         "memory service over sockets: ingest throughput, queries under load"),
    "perception": Benchmark("bench.perception_bench", "PerceptionBenchConfig",
                            "observation -> feature frame for the label and open_clip encoders"),
    "ingest": Benchmark("bench.ingest_bench", "IngestBenchConfig",
                        "bag ingestion: decode alone, and decode + label perception + map (frames/s)"),
    "sim": Benchmark("bench.sim_bench", "SimBenchConfig", "embedded simulator: frame rate and depth accuracy"),
    "nav": Benchmark("bench.nav_bench", "NavBenchConfig",
                     "navigation: occupancy update per frame, A* across an apartment, frontier update"),
    "query": Benchmark("bench.query_bench", "QueryBenchConfig", "offline mem3d query: cold start, further queries"),
    "episodic": Benchmark("bench.episodic_bench", "EpisodicBenchConfig",
                          "episodic memory: cost per frame on top of the map update, query latency"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_registry_arguments(parser, BENCHMARKS)


def run(args: argparse.Namespace) -> int:
    return run_from_registry(BENCHMARKS, args)


def add_registry_arguments(parser: argparse.ArgumentParser, registry: dict[str, Benchmark]) -> None:
    """``NAME [--json] [--set KEY=VALUE ...]`` for one registry (benchmarks or evaluations)."""
    parser.add_argument("name", choices=registry, metavar="NAME",
                        help="; ".join(f"{name}: {b.help}" for name, b in registry.items()) or "none registered yet")
    parser.add_argument("--json", action="store_true", help="print only the JSON result on stdout, on one line")
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                        help="change a setting of the config dataclass (repeatable), "
                             "e.g. --set target_voxels=100000")


def run_from_registry(registry: dict[str, Benchmark], args: argparse.Namespace) -> int:
    """Run ``registry[args.name]`` with its ``--set`` config and print its JSON result."""
    benchmark = registry[args.name]
    module = importlib.import_module(benchmark.module)
    config_class = getattr(module, benchmark.config)
    config = config_from_dict(config_class, options_from_strings(config_class, args.set), where="--set")
    result = module.run(config, show_progress=not args.json)
    json.dump(result, sys.stdout, indent=None if args.json else 2)
    sys.stdout.write("\n")
    return 0
