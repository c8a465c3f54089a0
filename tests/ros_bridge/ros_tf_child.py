"""Runs in the ROS 2 environment (``.venv-ros``), started by test_ros_tf.py: publishes a TF tree
(map -> odom on /tf_static, odom -> base_link on /tf before and after each frame, base_link ->
camera_color_optical_frame on /tf_static) and small camera frames between the /tf samples, so the
bridge must chain and interpolate. Usage: ros_tf_child.py FRAMES"""

import sys
import time

import numpy as np
import rclpy
from geometry_msgs.msg import TransformStamped
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage

from mem3d.types import CameraIntrinsics
from ros_bridge.convert.camera import intrinsics_to_camera_info
from ros_bridge.convert.images import array_to_image, depth_to_image
from ros_bridge.convert.transforms import matrix_to_rigid
from tests.ros_bridge.ros_graph_child import image
from tests.ros_bridge.tf_tree import CAMERA, T_BASE_CAMERA, T_MAP_ODOM, frame_stamps, odom_base


def transform(parent: str, child: str, T: np.ndarray, stamp: float) -> TransformStamped:
    rigid = matrix_to_rigid(T)
    msg = TransformStamped(header=Header(frame_id=parent), child_frame_id=child)
    msg.header.stamp.sec, msg.header.stamp.nanosec = int(stamp), int(round((stamp % 1) * 1e9))
    t, q = msg.transform.translation, msg.transform.rotation
    t.x, t.y, t.z = (float(v) for v in rigid.translation)
    q.x, q.y, q.z, q.w = (float(v) for v in rigid.rotation)
    return msg


def main(count: int) -> None:
    rclpy.init()
    node = rclpy.create_node("mem3d_test_tf")
    static_qos = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                            reliability=ReliabilityPolicy.RELIABLE)
    tf_static = node.create_publisher(TFMessage, "/tf_static", static_qos)
    tf = node.create_publisher(TFMessage, "/tf", 100)
    color = node.create_publisher(Image, "/camera/color/image_raw", qos_profile_sensor_data)
    depth = node.create_publisher(Image, "/camera/aligned_depth_to_color/image_raw", qos_profile_sensor_data)
    info_pub = node.create_publisher(CameraInfo, "/camera/color/camera_info", qos_profile_sensor_data)
    deadline = time.monotonic() + 60
    while depth.get_subscription_count() == 0 or tf.get_subscription_count() == 0:
        rclpy.spin_once(node, timeout_sec=0.1)
        if time.monotonic() > deadline:
            raise SystemExit("the bridge never subscribed")
    tf_static.publish(TFMessage(transforms=[transform("map", "odom", T_MAP_ODOM, 0.0),
                                            transform("base_link", CAMERA, T_BASE_CAMERA, 0.0)]))
    intrinsics = CameraIntrinsics.from_fov(32, 24, 90.0)
    info = intrinsics_to_camera_info(intrinsics)
    for stamp in frame_stamps(count):
        tf.publish(TFMessage(transforms=[transform("odom", "base_link", odom_base(stamp - 0.05), stamp - 0.05)]))
        header = Header(frame_id=CAMERA)
        header.stamp.sec, header.stamp.nanosec = int(stamp), int(round((stamp % 1) * 1e9))
        info_pub.publish(CameraInfo(header=header, height=info.height, width=info.width,
                                    distortion_model=info.distortion_model, d=list(info.d), k=list(info.k),
                                    r=list(info.r), p=list(info.p)))
        color.publish(image(array_to_image(np.full((24, 32, 3), 128, np.uint8), "rgb8"), header))
        depth.publish(image(depth_to_image(np.full((24, 32), 1.5, np.float32), "16UC1"), header))
        rclpy.spin_once(node, timeout_sec=0.05)
        tf.publish(TFMessage(transforms=[transform("odom", "base_link", odom_base(stamp + 0.05), stamp + 0.05)]))
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.05)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]))
