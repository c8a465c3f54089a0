"""``mem3d navigate`` and its launch file: wired to the command table, arguments as documented."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from mem3d.apps.cli import COMMANDS
from mem3d.apps.launcher import Launcher, LaunchFile
from mem3d.apps.navigate_cli import add_arguments
from mem3d.config import load_yaml_config

STACK = Path(__file__).resolve().parents[2] / "launch" / "nav_stack.yaml"


def test_the_nav_stack_runs_the_planner_node_against_its_memory_service():
    stack = load_yaml_config(LaunchFile, STACK)
    memory, planner = stack.processes
    assert memory.command[:2] == ["mem3d", "serve"] and planner.command[:2] == ["mem3d", "navigate"]
    assert planner.command[1] in COMMANDS and planner.on_exit == "shutdown"
    endpoint = memory.command[memory.command.index("--bind") + 1]
    assert planner.command[planner.command.index("--memory") + 1] == endpoint
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(Launcher(stack).children[1].command[2:])  # with the launch arguments' defaults
    assert args.goal == ["refrigerator", "bed", "sofa"] and args.source == "sim:0"
    assert args.memory == stack.args["requests"] == "tcp://127.0.0.1:5555"


def test_the_standoff_option_sets_how_far_the_robot_stops_and_refuses_what_breaks_the_rule():
    from mem3d.apps.navigate_cli import nav_config
    from mem3d.errors import InvalidInputError
    from planners.goals import NOISY_STANDOFF, StandoffConfig

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--goal", "sofa", "--standoff-max", "0.7", "--max-actions", "50"])
    config = nav_config(args.max_actions, args.standoff_max)
    assert config.standoff == NOISY_STANDOFF and config.max_actions_per_goal == 50
    assert nav_config(400).standoff == StandoffConfig()  # no option: the default standoff
    for bad in (0.2, 1.2):
        with pytest.raises(InvalidInputError, match="at most 1.0 m"):
            nav_config(400, bad)
