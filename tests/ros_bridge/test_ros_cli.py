"""The ``ros`` command without ROS, the shipped launch file, and the bridge's diagnostics counts."""

import subprocess
import sys
from pathlib import Path

from mem3d.apps.launcher import LaunchFile
from mem3d.config import load_yaml_config
from ros_bridge.node.config import FIELDS, BridgeConfig
from ros_bridge.node.diagnostics import BridgeCounts

ROOT = Path(__file__).resolve().parents[2]


def test_mem3d_ros_run_without_any_ros_environment_says_how_to_get_one(tmp_path):
    env = {"MEM3D_ROS_PYTHON": str(tmp_path / "no-such-python"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "mem3d.apps.cli", "ros", "run"], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "make ros-env" in done.stderr


def test_the_shipped_launch_file_runs_memory_perception_and_the_bridge():
    stack = load_yaml_config(LaunchFile, ROOT / "launch" / "ros_bridge.yaml")
    assert [p.name for p in stack.processes] == ["memory", "perception", "bridge"]
    bridge = stack.processes[2].command
    names = {arg.split(":=")[0] for arg in bridge if ":=" in arg}
    assert names <= {f.name for f in FIELDS}  # every parameter it sets exists


def test_problems_are_reported_once_per_period_with_their_totals():
    counts = BridgeCounts()
    counts.problem("no transform from map to camera: is the TF tree published?", 3)
    assert counts.new_problems() == ["3 in the last period (3 in all): no transform from map to camera: "
                                     "is the TF tree published?"]
    assert counts.new_problems() == []
    counts.problem("no transform from map to camera: is the TF tree published?")
    assert counts.new_problems()[0].startswith("1 in the last period (4 in all)")


def test_defaults_fit_a_realsense_driver():
    config = BridgeConfig()
    assert config.color_topic == "/camera/color/image_raw"
    assert config.depth_topic == "/camera/aligned_depth_to_color/image_raw"
    assert config.query_topic.startswith("~/") and config.occupancy_topic.startswith("~/")
