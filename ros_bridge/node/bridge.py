"""The mem3d bridge node: camera topics -> observations -> (ZeroMQ) perception -> memory service;
queries on a String topic -> MarkerArray + PoseStamped; goals on a String topic -> a planned
nav_msgs/Path; the map as PointCloud2; the occupancy grid (transient local); a save service;
diagnostics. Needs rclpy (``make ros-env``); see docs/ros.md.

Observations leave on a ZeroMQ stream (topic ``obs``), exactly like ``mem3d sim serve`` frames, and
``mem3d perceive --source tcp://... --live`` turns them into feature frames for the memory service:
the ROS environment needs neither torch nor the encoders.
"""

from __future__ import annotations

import time
from dataclasses import fields

import numpy as np
import rclpy
import zmq
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import OccupancyGrid, Odometry, Path
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header, String
from std_srvs.srv import Trigger
from visualization_msgs.msg import MarkerArray

from mem3d.client import MemoryClient
from mem3d.comms.sockets import STREAM_PUBLISHER, bind, send_end_marker
from mem3d.errors import Mem3dError
from mem3d.protocol.messages import observation_to_message
from mem3d.protocol.topics import OBSERVATION_TOPIC
from mem3d.protocol.wire import encode
from ros_bridge.convert.clouds import array_to_cloud
from ros_bridge.convert.events import event_json
from ros_bridge.convert.grids import Grid2D, occupancy_to_grid
from ros_bridge.convert.transforms import pose_to_matrix, rigid_matrix, transform_to_matrix
from ros_bridge.frames import make_observation, stamp_of
from ros_bridge.labels import parse_label_table
from ros_bridge.node.config import FIELDS, BridgeConfig
from ros_bridge.node.diagnostics import BridgeCounts
from ros_bridge.node.ros_messages import candidate_markers, cloud_msg, goal_pose, grid_msg, path_msg
from ros_bridge.plan import plan_to_candidate
from ros_bridge.sync import ApproximateSync
from ros_bridge.tf_buffer import TransformBuffer, TransformError

MAX_WAITING = 5
"""Synchronised frames kept while their pose has not arrived yet (older ones fail with a message)."""
LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE)
"""The map topics' QoS: a subscriber that starts late still gets the last message (ros2/rviz#400)."""


def declare_config(node: Node) -> BridgeConfig:
    """Declare every ``BridgeConfig`` field as a parameter (default from the dataclass) and read it."""
    defaults = BridgeConfig()
    values = {}
    for spec in FIELDS:
        default = getattr(defaults, spec.name)
        value = node.declare_parameter(spec.name, list(default) if isinstance(default, tuple) else default).value
        values[spec.name] = tuple(value) if isinstance(default, tuple) else value
    return BridgeConfig(**values)


class BridgeNode(Node):
    def __init__(self, name: str = "mem3d_bridge") -> None:
        super().__init__(name)
        self.config = c = declare_config(self)
        self.counts = BridgeCounts()
        sensor = qos_profile_sensor_data if c.sensor_qos == "sensor_data" else QoSProfile(depth=10)
        others = [c.depth_topic] + ([c.semantic_topic] if c.semantic_topic else [])
        self.sync = ApproximateSync(c.color_topic, others, c.sync_slop_s, c.sync_queue_size)
        self._reported_sync = (0, 0)
        self._info = None
        self._labels: dict[int, str] = {}
        self._obs_id = 0
        self._T_world_camera: np.ndarray | None = None
        """Pose of the newest frame forwarded: where a planned path starts."""
        self._last_sent = 0.0
        for topic in [c.color_topic, *others]:
            self.create_subscription(Image, topic, lambda msg, t=topic: self._image(t, msg), sensor)
        self.create_subscription(CameraInfo, c.camera_info_topic, self._camera_info, sensor)
        if c.semantic_labels_topic:
            self.create_subscription(String, c.semantic_labels_topic, self._label_table, QoSProfile(depth=10))
        self._poses = TransformBuffer(c.pose_extrapolation_s, c.tf_cache_s)
        """Poses from the pose topic, or /tf and /tf_static read with tf2_msgs (no tf2_ros)."""
        self._latest_pose = float("-inf")
        self._waiting: list = []
        """Synchronised sets newer than the newest pose, until it arrives (own pose buffer only)."""
        self._T_body_camera = rigid_matrix(c.camera_offset[:3], c.camera_offset[3:])
        self._tf = None
        self.pose_source = "pose topic"
        """How frames get their pose: "pose topic", "tf2_ros", "tf2_msgs" or "none"."""
        if c.pose_topic:
            kind = Odometry if c.pose_type == "Odometry" else PoseStamped
            self.create_subscription(kind, c.pose_topic, self._pose, QoSProfile(depth=50))
        else:
            self._tf = self._tf_listener()
        self.create_subscription(String, c.query_topic, self._query, QoSProfile(depth=10))
        self.create_subscription(String, c.plan_goal_topic, self._plan, QoSProfile(depth=10))
        self.markers = self.create_publisher(MarkerArray, c.markers_topic, 10)
        self.goal = self.create_publisher(PoseStamped, c.goal_topic, 10)
        self.cloud = self.create_publisher(PointCloud2, c.cloud_topic, LATCHED)
        self.occupancy = self.create_publisher(OccupancyGrid, c.occupancy_topic, LATCHED)
        self.path = self.create_publisher(Path, c.path_topic, LATCHED)
        self.events = self.create_publisher(String, c.events_topic, 10)
        self.create_service(Trigger, "~/save", self._save)
        self._zmq = zmq.Context()
        self._stream = bind(self._zmq, zmq.PUB, c.observations, STREAM_PUBLISHER)
        self.client = MemoryClient(c.memory, timeout=10)
        self._grid_seq = -1
        self._events_since = 0.0
        """Stamp (s) of the newest event published: the next fetch asks for the ones after it."""
        if c.events_period_s > 0:
            self.create_timer(c.events_period_s, self._publish_events)
        if c.grid_file:
            self.publish_grid(load_grid(c.grid_file))
        elif c.occupancy_period_s > 0:
            self.create_timer(c.occupancy_period_s, self._publish_occupancy)
        if c.store:
            self.create_timer(c.cloud_period_s, self._publish_cloud)
        self.create_timer(c.diagnostics_period_s, self._diagnose)
        self.get_logger().info(f"mem3d bridge: {c.color_topic} + {c.depth_topic} -> {c.observations}; "
                               f"queries on {self.resolve_topic_name(c.query_topic)}")

    # ---------------------------------------------------------------- input
    def _tf_listener(self):
        """tf2_ros's buffer where installed; else /tf and /tf_static into the bridge's own buffer (None)."""
        try:
            from tf2_ros import Buffer, TransformListener
        except ImportError:
            pass
        else:
            self.pose_source = "tf2_ros"
            buffer = Buffer()
            self._listener = TransformListener(buffer, self)
            return buffer
        try:
            from tf2_msgs.msg import TFMessage
        except ImportError:
            self.pose_source = "none"
            self.get_logger().error("neither tf2_ros nor tf2_msgs is installed in this environment: run `make "
                                    "ros-env` (it builds tf2_msgs), set the pose_topic parameter to a PoseStamped / "
                                    "Odometry topic, or run the bridge in a system ROS 2 install")
            return None
        self.pose_source = "tf2_msgs"
        static = QoSProfile(depth=100, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                            reliability=ReliabilityPolicy.RELIABLE)
        self.create_subscription(TFMessage, "/tf", lambda msg: self._transforms(msg, False), QoSProfile(depth=100))
        self.create_subscription(TFMessage, "/tf_static", lambda msg: self._transforms(msg, True), static)
        return None

    def _transforms(self, msg, static: bool) -> None:
        """A TFMessage into the pose buffer; frames that waited for a newer transform go on."""
        for transform in msg.transforms:
            stamp = stamp_of(transform)
            self._poses.add(transform.header.frame_id, transform.child_frame_id,
                            transform_to_matrix(transform.transform), stamp, static)
            if not static:
                self._latest_pose = max(self._latest_pose, stamp)
        self._release_waiting()

    def _camera_info(self, msg: CameraInfo) -> None:
        self.counts.received[self.config.camera_info_topic] += 1
        self._info = msg

    def _label_table(self, msg: String) -> None:
        try:
            self._labels.update(parse_label_table(msg.data))
        except Mem3dError as error:
            self.counts.problem(f"unreadable semantic label table ({error}): check {self.config.semantic_labels_topic}")

    def _pose(self, msg) -> None:
        pose = msg.pose.pose if isinstance(msg, Odometry) else msg.pose
        stamp = stamp_of(msg)
        self._poses.add(self.config.world_frame, "body", pose_to_matrix(pose), stamp)
        self._latest_pose = max(self._latest_pose, stamp)
        self._release_waiting()

    def _release_waiting(self) -> None:
        waiting, self._waiting = self._waiting, []
        for synced in waiting:  # frames that arrived before the pose of their time
            self._forward(synced)

    def _image(self, topic: str, msg: Image) -> None:
        self.counts.received[topic] += 1
        item = (msg, dict(self._labels)) if topic == self.config.semantic_topic else msg
        for synced in self.sync.add(topic, stamp_of(msg), item):
            self._forward(synced)

    def _camera_pose(self, color: Image, stamp: float) -> np.ndarray:
        c = self.config
        camera = c.camera_frame or color.header.frame_id
        if c.pose_topic:
            return self._poses.lookup(c.world_frame, "body", stamp) @ self._T_body_camera
        if self.pose_source == "tf2_msgs":
            try:
                return self._poses.lookup(c.world_frame, camera, stamp)
            except TransformError as error:
                raise TransformError(f"{error}: is the TF tree published on /tf and /tf_static?") from None
        if self._tf is None:
            raise TransformError("no pose source: set pose_topic (neither tf2_ros nor tf2_msgs is installed)")
        try:
            transform = self._tf.lookup_transform(c.world_frame, camera, color.header.stamp)
        except Exception as error:  # tf2 raises several lookup exceptions
            raise TransformError(f"no transform from {c.world_frame} to {camera}: is the TF tree published? "
                                 f"({type(error).__name__})") from None
        return transform_to_matrix(transform.transform)

    def _forward(self, synced) -> None:
        c = self.config
        color, depth = synced.items[c.color_topic], synced.items[c.depth_topic]
        semantic, labels = synced.items.get(c.semantic_topic, (None, {}))
        if c.max_rate_hz > 0 and time.monotonic() - self._last_sent < 1.0 / c.max_rate_hz:
            return
        own_buffer = self.pose_source in ("pose topic", "tf2_msgs")
        if own_buffer and synced.stamp > self._latest_pose and len(self._waiting) < MAX_WAITING:
            self._waiting.append(synced)
            return
        try:
            T_world_camera = self._camera_pose(color, synced.stamp)
            obs = make_observation(color, depth, self._info, T_world_camera, self._obs_id, semantic, labels,
                                   c.ignore_distortion)
        except TransformError as error:
            self.counts.problem(f"frame without a pose: {error}" + (
                f" (is {c.pose_topic} published?)" if c.pose_topic else ""))
            return
        except Mem3dError as error:
            self.counts.problem(f"frame not usable: {error}")
            return
        self._stream.send_multipart([OBSERVATION_TOPIC] + encode(observation_to_message(obs)), copy=False)
        self._obs_id += 1
        self._T_world_camera = T_world_camera
        self._last_sent = time.monotonic()
        self.counts.forwarded += 1

    # ---------------------------------------------------------------- answers
    def _header(self) -> Header:
        return Header(stamp=self.get_clock().now().to_msg(), frame_id=self.config.world_frame)

    def _query(self, msg: String) -> None:
        text = msg.data.strip()
        try:
            result = self.client.localize(text=text, top_k=self.config.top_k)
        except Mem3dError as error:
            self.get_logger().warning(f"query {text!r} failed: {error} (is the memory service at "
                                      f"{self.config.memory} running with a text encoder?)")
            return
        header = self._header()
        self.markers.publish(candidate_markers(result.candidates, text, header))
        if result.found:
            self.goal.publish(goal_pose(result.candidates[0], header))
        self.get_logger().info(f"query {text!r}: {len(result.candidates)} candidate(s)")

    def publish_grid(self, grid: Grid2D) -> None:
        """Publish a traversability grid (transient local: a late RViz still gets it)."""
        self.occupancy.publish(grid_msg(grid, self._header()))

    def _publish_occupancy(self) -> None:
        """Fetch the memory's whole grid; publish it when a frame changed it since the last one."""
        try:
            occupancy = self.client.occupancy()
        except Mem3dError as error:
            self.counts.problem(f"occupancy grid not published: {error} (is the memory service at "
                                f"{self.config.memory} running?)")
            return
        if occupancy.seq != self._grid_seq:
            self._grid_seq = occupancy.seq
            self.publish_grid(occupancy_to_grid(occupancy))

    def _plan(self, msg: String) -> None:
        """Localize the goal, plan from the newest frame's pose on the memory's grid, publish the path
        (an empty one, and a warning saying why, when there is none)."""
        text = msg.data.strip()
        if self._T_world_camera is None:
            self.get_logger().warning(f"no path to {text!r}: no camera frame forwarded yet, so the robot's "
                                      "pose is unknown")
            return
        try:
            result = self.client.localize(text=text, top_k=1)
            occupancy = self.client.occupancy() if result.found else None
        except Mem3dError as error:
            self.get_logger().warning(f"no path to {text!r}: {error} (is the memory service at "
                                      f"{self.config.memory} running with a text encoder?)")
            return
        if occupancy is None:
            self.path.publish(path_msg(np.zeros((0, 2)), self.config.path_z, self._header()))
            self.get_logger().warning(f"no path to {text!r}: the memory has not seen it")
            return
        planned = plan_to_candidate(occupancy, self._T_world_camera[:2, 3], result.candidates[0])
        self.path.publish(path_msg(planned.points_xy, self.config.path_z, self._header()))
        if planned.found:
            self.get_logger().info(f"path to {text!r}: {len(planned.points_xy)} poses, cost {planned.cost:.2f}")
        else:
            self.get_logger().warning(f"no path to {text!r}: {planned.reason}")

    def _publish_events(self) -> None:
        """Publish the memory's appeared / moved / disappeared events newer than the last ones sent."""
        try:
            reply = self.client.changes_since(self._events_since)
        except Mem3dError as error:
            self.counts.problem(f"episodic events not published: {error} (is the memory service at "
                                f"{self.config.memory} running?)")
            return
        for event in reply.events:
            self.events.publish(String(data=event_json(event)))
            self._events_since = max(self._events_since, event.stamp)

    def _publish_cloud(self) -> None:
        from mem3d.service.store_view import open_store_readonly

        try:
            columns = open_store_readonly(self.config.store).voxel_map.contents().columns
        except Mem3dError as error:
            self.counts.problem(f"map cloud not published: {error} (is store the service's store?)")
            return
        self.cloud.publish(cloud_msg(array_to_cloud(columns["position"], columns["color"]), self._header()))

    def _save(self, request, response):
        try:
            reply = self.client.save()
            response.success, response.message = True, f"saved checkpoint {reply.checkpoint}"
        except Mem3dError as error:
            response.success, response.message = False, str(error)
        return response

    # ---------------------------------------------------------------- health
    def _diagnose(self) -> None:
        counts, sync = self.counts, self.sync.counts
        unsynced, dropped = sync.unsynchronised, sum(sync.dropped.values())
        new_unsynced, new_dropped = unsynced - self._reported_sync[0], dropped - self._reported_sync[1]
        self._reported_sync = (unsynced, dropped)
        if new_unsynced:
            counts.problem(f"colour images without a depth{' / segmentation' if self.config.semantic_topic else ''} "
                           f"within sync_slop_s={self.config.sync_slop_s} (largest gap {sync.worst_gap_s:.3f} s): "
                           "raise sync_slop_s or check the depth topic", new_unsynced)
        if new_dropped:
            counts.problem("messages dropped from a full sync queue: is the depth topic published? "
                           "(raise sync_queue_size)", new_dropped)
        if not counts.received[self.config.color_topic]:
            counts.problem(f"no colour image on {self.config.color_topic} yet: is the camera driver running, "
                           "and does sensor_qos match it?")
        for line in counts.new_problems():
            self.get_logger().warning(line)

    def destroy_node(self) -> None:
        if not send_end_marker(self._stream, timeout_s=1.0):
            self.get_logger().warning("the observation stream's end marker could not be sent within 1 s")
        self._stream.close(linger=500)
        self._zmq.term()
        self.client.close()
        super().destroy_node()


def load_grid(path: str) -> Grid2D:
    """A grid saved with ``numpy.savez(path, cells=..., resolution=..., T_world_origin=...)``."""
    with np.load(path) as data:
        return Grid2D(data["cells"].astype(np.int8), float(data["resolution"]), data["T_world_origin"])


def main(argv: list[str] | None = None) -> int:
    rclpy.init(args=argv)
    node = BridgeNode()
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


__all__ = ["BridgeConfig", "BridgeNode", "fields", "main"]
