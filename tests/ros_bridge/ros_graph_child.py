"""Runs in the ROS 2 environment (``.venv-ros``), started by test_ros_graph.py: publishes simulator
frames as real ROS 2 messages (images, camera_info, Isaac-style segmentation, PoseStamped), asks the
bridge a query on its String topic until markers come back, then subscribes late to the occupancy
grid, and asks for a planned path to the same object. Writes what it received as JSON.
Usage: ros_graph_child.py FRAMES.npz QUERY OUT.json"""

import json
import sys
import time

import numpy as np
import rclpy
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import OccupancyGrid, Path
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header, String
from std_srvs.srv import Trigger
from visualization_msgs.msg import Marker, MarkerArray

from mem3d.types import CameraIntrinsics
from ros_bridge.convert.camera import intrinsics_to_camera_info
from ros_bridge.convert.images import array_to_image, depth_to_image
from ros_bridge.convert.transforms import matrix_to_rigid
from ros_bridge.labels import label_table
from ros_bridge.node.ros_messages import pose_msg


def image(fields, header):
    return Image(header=header, height=fields.height, width=fields.width, encoding=fields.encoding,
                 is_bigendian=fields.is_bigendian, step=fields.step, data=fields.data.tobytes())


def main(frames_path, query, out_path):
    data = np.load(frames_path)
    labels = {int(k): v for k, v in json.loads(str(data["labels"])).items()}
    values = data["intrinsics"]
    intrinsics = CameraIntrinsics(*[float(v) for v in values[:4]], *[int(v) for v in values[4:]])
    rclpy.init()
    node = rclpy.create_node("mem3d_test_camera")
    pubs = {name: node.create_publisher(kind, topic, qos_profile_sensor_data if kind is not String else 10)
            for name, kind, topic in [("color", Image, "/camera/color/image_raw"),
                                      ("depth", Image, "/camera/aligned_depth_to_color/image_raw"),
                                      ("info", CameraInfo, "/camera/color/camera_info"),
                                      ("semantic", Image, "/semantic_segmentation"),
                                      ("labels", String, "/semantic_labels")]}
    pose_pub = node.create_publisher(PoseStamped, "/camera/pose", 50)
    query_pub = node.create_publisher(String, "/mem3d_bridge/query", 10)
    answers = []
    node.create_subscription(MarkerArray, "/mem3d_bridge/query/markers", answers.append, 10)
    deadline = time.monotonic() + 60
    while pubs["depth"].get_subscription_count() == 0 or query_pub.get_subscription_count() == 0:
        rclpy.spin_once(node, timeout_sec=0.1)
        if time.monotonic() > deadline:
            raise SystemExit("the bridge never subscribed")
    info = intrinsics_to_camera_info(intrinsics)
    for i in range(len(data["stamps"])):
        stamp = float(data["stamps"][i]) + 100.0
        header = Header(frame_id="camera_color_optical_frame")
        header.stamp.sec, header.stamp.nanosec = int(stamp), int(round((stamp % 1) * 1e9))
        pose = PoseStamped(header=Header(stamp=header.stamp, frame_id="map"),
                           pose=pose_msg(matrix_to_rigid(data["poses"][i])))
        pose_pub.publish(pose)
        pubs["labels"].publish(String(data=label_table(labels)))
        pubs["info"].publish(CameraInfo(header=header, height=info.height, width=info.width,
                                        distortion_model=info.distortion_model, d=list(info.d), k=list(info.k),
                                        r=list(info.r), p=list(info.p)))
        pubs["color"].publish(image(array_to_image(data["rgb"][i], "bgr8"), header))
        pubs["depth"].publish(image(depth_to_image(data["depth"][i], "16UC1"), header))
        pubs["semantic"].publish(image(array_to_image(data["semantic"][i], "32SC1"), header))
        end = time.monotonic() + 0.2
        while time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.02)
    found, deadline, next_query = None, time.monotonic() + 90, 0.0
    while found is None and time.monotonic() < deadline:
        if time.monotonic() > next_query:
            query_pub.publish(String(data=query))
            next_query = time.monotonic() + 2.0
        rclpy.spin_once(node, timeout_sec=0.1)
        boxes = [m for a in answers for m in a.markers if m.type == Marker.CUBE]
        if boxes:
            found = [boxes[0].pose.position.x, boxes[0].pose.position.y, boxes[0].pose.position.z]
    grids = []
    late = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(OccupancyGrid, "/mem3d_bridge/map/occupancy", grids.append, late)
    deadline = time.monotonic() + 15
    while not grids and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
    grid = grids[0] if grids else None
    clouds = []
    node.create_subscription(PointCloud2, "/mem3d_bridge/map/cloud", clouds.append, late)
    deadline = time.monotonic() + 30
    while not clouds and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
    save = node.create_client(Trigger, "/mem3d_bridge/save")
    saved = None
    if save.wait_for_service(timeout_sec=10):
        future = save.call_async(Trigger.Request())
        rclpy.spin_until_future_complete(node, future, timeout_sec=30)
        saved = None if future.result() is None else [future.result().success, future.result().message]
    paths = []
    node.create_subscription(Path, "/mem3d_bridge/plan/path", paths.append, late)
    goal_pub = node.create_publisher(String, "/mem3d_bridge/plan/goal", 10)
    deadline, next_goal = time.monotonic() + 60, 0.0
    while not any(p.poses for p in paths) and time.monotonic() < deadline:
        if time.monotonic() > next_goal and goal_pub.get_subscription_count():
            goal_pub.publish(String(data=query))
            next_goal = time.monotonic() + 3.0
        rclpy.spin_once(node, timeout_sec=0.1)
    path = next((p for p in paths if p.poses), None)
    with open(out_path, "w") as file:
        json.dump({"path": None if path is None else {
                       "frame": path.header.frame_id,
                       "points": [[q.pose.position.x, q.pose.position.y, q.pose.position.z] for q in path.poses]},
                   "robot": data["poses"][-1][:3, 3].tolist(),
                   "marker": found, "answers": len(answers), "saved": saved,
                   "cloud_points": clouds[0].width if clouds else None,
                   "cloud_fields": [f.name for f in clouds[0].fields] if clouds else None,
                   "grid": None if grid is None else {"width": grid.info.width, "height": grid.info.height,
                                                      "resolution": grid.info.resolution,
                                                      "data": list(grid.data)}}, file)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main(*sys.argv[1:4])
