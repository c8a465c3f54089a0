"""``mem3d ros run [--ros-args -p name:=value ...]``: the ROS 2 bridge node.

rclpy lives in its own environment (``make ros-env`` builds ``.venv-ros``; a system ROS 2 install
works too once sourced). When this interpreter has no rclpy, the command runs the node with the ROS
environment's Python (``$MEM3D_ROS_PYTHON``, else ``.venv-ros/bin/python`` of the checkout).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ros_python() -> Path | None:
    """The Python of the ROS 2 environment, if there is one."""
    candidate = Path(os.environ.get("MEM3D_ROS_PYTHON", ROOT / ".venv-ros" / "bin" / "python"))
    return candidate if candidate.exists() else None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    node = sub.add_parser("run", help="run the bridge node (parameters as --ros-args -p name:=value)")
    node.add_argument("--ros-args", dest="ros_args", nargs=argparse.REMAINDER, default=None,
                      help="ROS arguments, e.g. --ros-args -p pose_topic:=/camera/pose (see docs/ros.md)")


def run(args: argparse.Namespace) -> int:
    ros_args = ["--ros-args", *args.ros_args] if args.ros_args is not None else []
    argv = [sys.argv[0], *ros_args]
    if importlib.util.find_spec("rclpy") is not None:
        from ros_bridge.node.bridge import main

        return main(argv)
    python = ros_python()
    if python is None:
        print("mem3d ros: rclpy is not installed here and there is no ROS 2 environment: run `make ros-env` "
              "(or source a system ROS 2 install)", file=sys.stderr)
        return 2
    os.execv(str(python), [str(python), "-m", "ros_bridge", *ros_args])
    return 0  # not reached
