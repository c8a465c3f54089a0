"""The TF tree of the TF graph test, shared by the test and its ROS 2 child (numpy only): map -> odom
and base_link -> camera static, odom -> base_link driving a curve (world z up, metres, seconds)."""

import numpy as np

from ros_bridge.convert.transforms import rigid_matrix

CAMERA = "camera_color_optical_frame"
T_MAP_ODOM = rigid_matrix((1.0, -2.0, 0.0), (0.0, 0.0, np.sin(0.2), np.cos(0.2)))
T_BASE_CAMERA = rigid_matrix((0.1, 0.0, 1.2), (-0.5, 0.5, -0.5, 0.5))
"""The optical frame (z forward, x right, y down) looking along the base's +x."""


def frame_stamps(count: int) -> list[float]:
    return [100.0 + 0.7 * k for k in range(count)]


def odom_base(stamp: float) -> np.ndarray:
    """T_odom_base at ``stamp``: a straight drift in xy and a steady yaw of 0.3 rad/s, so that linear
    interpolation of the translation and slerp of the rotation between two samples are exact."""
    t = stamp - 100.0
    yaw = 0.3 * t
    return rigid_matrix((0.4 * t, 0.05 * t, 0.0), (0.0, 0.0, np.sin(yaw / 2), np.cos(yaw / 2)))
