"""Every setting of the bridge node, as one dataclass; each field is a ROS parameter of the same name.

Defaults fit ``realsense2_camera`` with ``align_depth.enable:=true`` (Orbbec's driver uses the same
topic names). Output topics are relative to the node (``~/``), as nvblox_ros and RTAB-Map do.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from mem3d.comms.endpoints import DEFAULT_OBSERVATIONS, DEFAULT_REQUESTS
from ros_bridge.topics import DEFAULT_FRAMES, DEFAULT_TOPICS


@dataclass(frozen=True)
class BridgeConfig:
    color_topic: str = DEFAULT_TOPICS.color
    depth_topic: str = DEFAULT_TOPICS.depth
    camera_info_topic: str = DEFAULT_TOPICS.camera_info
    semantic_topic: str = ""
    """Isaac-style segmentation (integer ids, e.g. /semantic_segmentation); "" = none (plain RGB-D:
    the CLIP encoder downstream)."""
    semantic_labels_topic: str = ""
    """Its JSON label table (std_msgs/String, e.g. /semantic_labels)."""
    pose_topic: str = ""
    """PoseStamped / Odometry with the pose of the body (``camera_offset`` away from the camera); "" = TF:
    tf2_ros where installed (a system ROS 2), else /tf and /tf_static read with tf2_msgs (``make ros-env``
    builds it) into the bridge's own interpolating buffer."""
    pose_type: str = "PoseStamped"
    """"PoseStamped" or "Odometry"."""
    world_frame: str = DEFAULT_FRAMES.world
    camera_frame: str = ""
    """Colour optical frame; "" = the colour header's frame_id."""
    camera_offset: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    """x y z qx qy qz qw of the camera optical frame in the pose topic's body frame (identity: the pose
    topic gives the camera's own pose)."""
    sync_slop_s: float = 0.05
    sync_queue_size: int = 30
    pose_extrapolation_s: float = 0.1
    tf_cache_s: float = 10.0
    """Seconds of time-stamped poses / transforms kept (as tf2's buffer)."""
    ignore_distortion: bool = False
    sensor_qos: str = "sensor_data"
    """"sensor_data" (best effort, depth 5, what drivers publish) or "reliable"."""
    query_topic: str = "~/query"
    markers_topic: str = "~/query/markers"
    goal_topic: str = "~/query/pose"
    cloud_topic: str = "~/map/cloud"
    occupancy_topic: str = "~/map/occupancy"
    plan_goal_topic: str = "~/plan/goal"
    """std_msgs/String: an object to go to ("the red mug"); it is localized in memory and a path from the
    camera's last pose to a standoff from it is published on ``path_topic``."""
    path_topic: str = "~/plan/path"
    """nav_msgs/Path in ``world_frame`` (transient local; empty when no path was found)."""
    path_z: float = 0.0
    """Height (m, world) of the path's poses: the floor."""
    events_topic: str = "~/events"
    observations: str = DEFAULT_OBSERVATIONS
    """ZeroMQ endpoint the node publishes observations on (the perception node reads it)."""
    memory: str = DEFAULT_REQUESTS
    """The memory service's request endpoint (queries, save)."""
    store: str = ""
    """The service's store directory, read-only, for the map cloud ("" = no cloud)."""
    cloud_period_s: float = 5.0
    occupancy_period_s: float = 2.0
    """How often the memory's traversability grid (its ``occupancy`` request) is fetched and, when a
    newer frame changed it, published on the occupancy topic (0 = never)."""
    events_period_s: float = 2.0
    """How often the memory's new episodic events (appeared / moved / disappeared) are fetched and
    published on the events topic, one JSON object each (0 = never)."""
    grid_file: str = ""
    """An .npz grid (cells, resolution, T_world_origin) published once on the occupancy topic instead
    of the memory's grid (a map made elsewhere); "" = the memory's."""
    max_rate_hz: float = 0.0
    """Most frames forwarded per second (0 = all)."""
    top_k: int = 5
    diagnostics_period_s: float = 5.0


FIELDS = fields(BridgeConfig)
