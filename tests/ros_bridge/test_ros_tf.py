"""The bridge takes camera poses from /tf and /tf_static (tf2_msgs, built by ``make ros-env``) on a
real ROS 2 graph on localhost: the transforms are chained (map -> odom -> base_link -> camera) and
interpolated to each image's stamp, and each forwarded observation carries that pose."""

import subprocess
import threading

import numpy as np
import pytest

from mem3d.errors import EndOfStreamError, Mem3dError
from tests.ros_bridge.conftest import free_port, ros_env, run_child, start_bridge
from tests.ros_bridge.tf_tree import T_BASE_CAMERA, T_MAP_ODOM, frame_stamps, odom_base

pytestmark = pytest.mark.slow
FRAMES = 6


def test_the_bridge_poses_frames_from_the_tf_tree(ros_python):
    from mem3d.comms.remote_source import RemoteSource

    probe = subprocess.run([str(ros_python), "-c", "import tf2_msgs.msg"], capture_output=True, text=True, timeout=120)
    if probe.returncode:
        pytest.skip(f"tf2_msgs is not built in {ros_python} (an environment from before `make ros-env` built it, "
                    f"or no gcc / g++): {probe.stderr.strip()[-200:]}")
    stream, env = f"tcp://127.0.0.1:{free_port()}", ros_env()
    params = {"observations": stream, "memory": f"tcp://127.0.0.1:{free_port()}", "occupancy_period_s": 0.0,
              "events_period_s": 0.0, "world_frame": "map", "sync_slop_s": 0.01, "diagnostics_period_s": 1.0}
    bridge, output = start_bridge(ros_python, params, env)
    source, received = RemoteSource(stream, timeout=90), []

    def collect() -> None:
        try:
            while True:
                received.append(source.observe())
        except (EndOfStreamError, Mem3dError):
            return

    reading = threading.Thread(target=collect, daemon=True)
    reading.start()
    run_child(ros_python, ["ros_tf_child.py", str(FRAMES)], env, bridge, output, timeout=180)
    reading.join(timeout=30)
    source.close()
    log = "".join(output)
    assert len(received) >= FRAMES - 2, log[-2000:]  # the stream is latest-only: one may be skipped
    stamps = frame_stamps(FRAMES)
    for obs in received:
        stamp = min(stamps, key=lambda s: abs(s - obs.stamp))
        assert obs.stamp == pytest.approx(stamp, abs=1e-6)
        expected = T_MAP_ODOM @ odom_base(stamp) @ T_BASE_CAMERA  # halfway between two /tf samples
        np.testing.assert_allclose(obs.T_world_camera, expected, atol=1e-6)
    assert "frame without a pose" not in log
