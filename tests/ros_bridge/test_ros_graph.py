"""The bridge on a real ROS 2 graph on localhost (DDS on loopback, a domain of its own): a test
process publishes simulator frames as ROS 2 messages, the bridge (its own process, ``.venv-ros``)
forwards them to perception and the memory service (this process, real ZeroMQ sockets), a query on
the query topic comes back as a marker at the right object, and a subscriber that starts late gets
the transient-local occupancy grid and the map cloud; the save service writes a checkpoint; a goal on
the plan topic comes back as a nav_msgs/Path from the robot to the object, clear of obstacles."""

import json
import threading

import numpy as np
import pytest

from tests.ros_bridge.conftest import NEAR_M, distance_to, free_port, ros_env, run_child, start_bridge

pytestmark = pytest.mark.slow


def test_the_bridge_builds_memory_from_ros_topics_and_answers_on_topics(tmp_path, toured, label_encoder,
                                                                         start_service, ros_python):
    from mem3d.client import MemoryClient
    from mem3d.comms.remote_source import RemoteSource
    from perception.config import FrameConfig
    from perception.node import PerceptionNode

    frames, target = toured
    labels = {}
    for obs in frames:
        labels.update(obs.labels)
    np.savez(tmp_path / "frames.npz", rgb=np.stack([o.rgb for o in frames]), depth=np.stack([o.depth for o in frames]),
             semantic=np.stack([o.semantic for o in frames]), poses=np.stack([o.T_world_camera for o in frames]),
             stamps=np.array([o.stamp for o in frames]), labels=json.dumps({str(k): v for k, v in labels.items()}),
             intrinsics=np.array([*(getattr(frames[0].intrinsics, n) for n in ("fx", "fy", "cx", "cy", "width",
                                                                               "height"))]))
    service = start_service(text_encoder=label_encoder, map=None)
    stream = f"tcp://127.0.0.1:{free_port()}"
    env = ros_env()
    params = {"pose_topic": "/camera/pose", "semantic_topic": "/semantic_segmentation",
              "semantic_labels_topic": "/semantic_labels", "observations": stream,
              "memory": service.endpoints["requests"], "occupancy_period_s": 1.0,
              "diagnostics_period_s": 2.0, "store": str(tmp_path / "store"), "cloud_period_s": 1.0}
    bridge, output = start_bridge(ros_python, params, env)
    with MemoryClient.of_service(service.endpoints, timeout=60) as client:
        node = PerceptionNode(label_encoder, client, FrameConfig(n_samples=4000), name="ros")
        perceiving = threading.Thread(target=lambda: node.run(RemoteSource(stream, timeout=120)), daemon=True)
        perceiving.start()
        run_child(ros_python, ["ros_graph_child.py", str(tmp_path / "frames.npz"), target.label,
                               str(tmp_path / "out.json")], env, bridge, output, timeout=240)
        perceiving.join(timeout=60)
        occupancy = client.occupancy()  # the grid as of the last frame (the path was planned on it or an older one)
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["marker"] is not None, "".join(output)[-2000:]
    assert distance_to(target, result["marker"]) < NEAR_M
    assert node.stats.acknowledged >= 4  # the stream is latest-only: a busy perception skips frames
    assert "frame without a pose" not in "".join(output)
    assert result["cloud_points"] > 1000 and result["cloud_fields"] == ["x", "y", "z", "rgb"]
    assert result["saved"][0] and "saved checkpoint" in result["saved"][1]
    grid = result["grid"]  # the memory's own traversability grid, to a subscriber that came late
    assert grid is not None and grid["resolution"] == pytest.approx(0.05)
    values = np.array(grid["data"], np.int8)
    assert values.size == grid["width"] * grid["height"]
    assert (values == 0).sum() > 100 and (values == 100).sum() > 10  # floor seen free, furniture occupied
    assert set(np.unique(values).tolist()) <= {-1, 0, 99, 100}
    path = result["path"]  # the planner's path, from the robot's pose to a standoff from the object
    assert path is not None, "".join(output)[-2000:]
    points = np.array(path["points"])
    assert path["frame"] == "map" and len(points) >= 2
    assert np.hypot(*(points[0, :2] - np.array(result["robot"][:2]))) < 0.05
    lo, hi = target.bbox_min[:2], target.bbox_max[:2]
    assert np.hypot(*np.maximum(np.maximum(lo - points[-1, :2], points[-1, :2] - hi), 0.0)) < 1.0
    assert_clear(occupancy, points[1:, :2], from_xy=points[0, :2])


def assert_clear(occupancy, waypoints, from_xy) -> None:
    """No point of the legs between the waypoints (sampled every quarter cell) lies on an occupied cell
    (the first leg leaves the robot's own cell, which may be inflated)."""
    from mem3d.nav.traversability import OCCUPIED

    legs = np.vstack([from_xy, waypoints])
    for a, b in zip(legs[:-1], legs[1:]):
        for p in np.linspace(a, b, max(2, int(np.hypot(*(b - a)) / occupancy.cell_m * 4) + 1)):
            row, col = int(np.floor(p[1] / occupancy.cell_m)) - occupancy.row0, \
                int(np.floor(p[0] / occupancy.cell_m)) - occupancy.col0
            inside = 0 <= row < occupancy.shape[0] and 0 <= col < occupancy.shape[1]
            assert not inside or occupancy.codes[row, col] != OCCUPIED, f"the path crosses an obstacle at {p}"
