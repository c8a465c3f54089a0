"""``mem3d bench <name>``: run a benchmark and print one JSON object (progress goes to stderr)."""

from __future__ import annotations

import argparse
import json
import sys

from mem3d.config import config_from_dict, options_from_strings

BENCHMARKS = ("map", "service")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=BENCHMARKS, help="which benchmark to run")
    parser.add_argument("--json", action="store_true", help="print only the JSON result on stdout")
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                        help="override a benchmark setting, e.g. --set target_voxels=100000")


def _overrides(config_class, pairs: list[str]):
    """``--set KEY=VALUE`` strings -> a ``config_class`` with those fields changed (clear errors)."""
    return config_from_dict(config_class, options_from_strings(config_class, pairs), where="--set")


def run(args: argparse.Namespace) -> int:
    if args.name == "map":
        from bench import map_bench
        result = map_bench.run(_overrides(map_bench.MapBenchConfig, args.set), show_progress=not args.json)
    else:
        from bench import service_bench
        result = service_bench.run(_overrides(service_bench.ServiceBenchConfig, args.set),
                                   show_progress=not args.json)
    json.dump(result, sys.stdout, indent=None if args.json else 2)
    sys.stdout.write("\n")
    return 0
