"""Simulator frames for the bridge tests (ground truth only scores the answers), and the ROS 2
environment the graph tests run the bridge in."""

import os
import random
import signal
import socket
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
ROS_PYTHON = Path(os.environ.get("MEM3D_ROS_PYTHON", ROOT / ".venv-ros" / "bin" / "python"))

NEAR_M = 0.5
"""A candidate is right when its centroid is this close to the target's box."""


@pytest.fixture(scope="package")
def toured():
    """24 frames of the default apartment's room tour at 160x120, and the object seen most in them."""
    from sim.config import CameraConfig, SimConfig
    from sim.embedded import EmbeddedSimSource
    from sim.tour import room_tour

    sim = EmbeddedSimSource(config=SimConfig(camera=CameraConfig(width=160, height=120)))
    frames, seen = [sim.reset(0)], {}
    for action in list(room_tour(sim))[:23]:
        sim.act(action)
        frames.append(sim.observe())
    for obs in frames:
        for instance, pixels in sim.truth.visible_instances(obs).items():
            seen[instance] = seen.get(instance, 0) + pixels
    truths = {t.instance_id: t for t in sim.truth.objects()}
    target = max((truths[i] for i in seen if i in truths and truths[i].label not in ("wall", "floor", "ceiling")),
                 key=lambda t: seen[t.instance_id])
    sim.close()
    return frames, target


def distance_to(target, point) -> float:
    """Metres from ``point`` to the target's bounding box (0 inside)."""
    point = np.asarray(point)
    return float(np.linalg.norm(np.maximum(np.maximum(target.bbox_min - point, point - target.bbox_max), 0.0)))


@pytest.fixture(scope="package")
def ros_python() -> Path:
    if not ROS_PYTHON.exists():
        pytest.skip(f"the ROS 2 environment {ROS_PYTHON} is not built: run `make ros-env` (ROS 2 from PyPI "
                    "wheels; `make test` builds it first)")
    done = subprocess.run([str(ROS_PYTHON), "-c", "import rclpy, visualization_msgs, nav_msgs, std_srvs"],
                          capture_output=True, text=True, timeout=120)
    if done.returncode:
        pytest.skip(f"ROS 2 could not be installed in {ROS_PYTHON}: {done.stderr.strip()[-300:]}")
    return ROS_PYTHON


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ros_env() -> dict:
    return {**os.environ, "ROS_DOMAIN_ID": str(random.randint(1, 100)), "ROS_LOCALHOST_ONLY": "1",
            "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def start_bridge(ros_python: Path, params: dict, env: dict) -> tuple[subprocess.Popen, list[str]]:
    """The bridge node in its own process of ``ros_python`` with these ROS parameters; its output,
    collected as it comes (a list that grows)."""
    command = [str(ros_python), "-m", "ros_bridge", "--ros-args"]
    for name, value in params.items():
        command += ["-p", f"{name}:={value}"]
    bridge = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(bridge.stdout), daemon=True).start()
    return bridge, output


def run_child(ros_python: Path, argv: list[str], env: dict, bridge: subprocess.Popen, output: list[str],
              timeout: float) -> None:
    """Run ``tests/ros_bridge/<argv[0]>`` in ``ros_python`` beside the bridge; it must succeed. Then stop
    the bridge (SIGINT: it ends the observation stream)."""
    try:
        child = subprocess.run([str(ros_python), str(ROOT / "tests" / "ros_bridge" / argv[0]), *argv[1:]], env=env,
                               capture_output=True, text=True, timeout=timeout)
        assert child.returncode == 0, child.stderr[-2000:] + "".join(output)[-2000:]
    finally:
        bridge.send_signal(signal.SIGINT)
        bridge.wait(timeout=30)
