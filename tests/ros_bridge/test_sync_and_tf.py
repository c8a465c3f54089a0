"""Approximate time synchronisation and the ROS-free transform buffer."""

import numpy as np
import pytest

from ros_bridge.convert.transforms import rigid_matrix
from ros_bridge.sync import ApproximateSync
from ros_bridge.tf_buffer import TransformBuffer, TransformError


def test_pairs_within_the_slop_and_counts_the_rest():
    sync = ApproximateSync("color", ["depth"], slop_s=0.02)
    out = []
    for stamp in (0.0, 0.1, 0.2, 0.3):
        out += sync.add("color", stamp, f"c{stamp}")
    for stamp in (0.005, 0.11, 0.26, 0.31):  # 0.2 has no depth within 20 ms
        out += sync.add("depth", stamp, f"d{stamp}")
    out += sync.flush()
    assert [(s.stamp, s.items["depth"]) for s in out] == [(0.0, "d0.005"), (0.1, "d0.11"), (0.3, "d0.31")]
    assert sync.counts.synced == 3 and sync.counts.unsynchronised == 1
    assert sync.counts.worst_gap_s == pytest.approx(0.06)


def test_a_full_queue_drops_its_oldest_messages():
    sync = ApproximateSync("color", ["depth"], slop_s=0.01, queue_size=3)
    for i in range(5):
        assert sync.add("color", i * 0.1, i) == []  # no depth ever: nothing can be decided
    assert sync.counts.dropped["color"] == 2


def tree() -> TransformBuffer:
    tf = TransformBuffer(extrapolation_s=0.05)
    tf.add("map", "odom", np.eye(4), 0.0, static=True)
    tf.add("odom", "base_link", rigid_matrix([0, 0, 0], [0, 0, 0, 1]), 1.0)
    tf.add("odom", "base_link", rigid_matrix([2, 0, 0], [0, 0, 0, 1]), 2.0)
    tf.add("base_link", "camera", rigid_matrix([0.1, 0, 1.0], [0, 0, 0, 1]), 0.0, static=True)
    return tf


def test_lookup_chains_static_and_interpolated_edges_both_ways():
    tf = tree()
    np.testing.assert_allclose(tf.lookup("map", "camera", 1.5)[:3, 3], [1.1, 0, 1.0])
    np.testing.assert_allclose(tf.lookup("camera", "map", 1.5)[:3, 3], [-1.1, 0, -1.0])
    np.testing.assert_allclose(tf.lookup("map", "camera", 2.04)[:3, 3], [2.1, 0, 1.0])  # nearest, within 50 ms
    assert tf.root("camera") == "map"


def test_lookup_failures_say_why():
    tf = tree()
    with pytest.raises(TransformError, match="known only from 1.000 to 2.000"):
        tf.lookup("map", "camera", 3.0)
    with pytest.raises(TransformError, match="'elsewhere' is not in the TF tree"):
        tf.lookup("map", "elsewhere", 1.0)
    tf.add("world", "robot2", np.eye(4), 0.0, static=True)
    with pytest.raises(TransformError, match="unconnected"):
        tf.lookup("map", "robot2", 1.0)


def test_a_live_buffer_keeps_only_its_cache_window():
    tf = TransformBuffer(extrapolation_s=0.0, cache_s=1.0)
    tf.add("base", "camera", rigid_matrix((0.0, 0.0, 1.0), (0, 0, 0, 1)), 0.0, static=True)
    for k in range(6):
        tf.add("map", "base", rigid_matrix((float(k), 0.0, 0.0), (0, 0, 0, 1)), float(k))
    np.testing.assert_allclose(tf.lookup("map", "camera", 4.5)[:3, 3], [4.5, 0.0, 1.0])
    with pytest.raises(TransformError, match="known only from 4.000 to 5.000 s"):
        tf.lookup("map", "camera", 2.5)
