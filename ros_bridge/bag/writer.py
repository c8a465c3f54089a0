"""Write posed RGB-D observations as a bag (ROS 1 ``.bag``, ROS 2 sqlite3 or MCAP), as a RealSense
driver with a localisation stack would record them: colour, aligned depth, camera_info, ``/tf``
(world -> camera_link at each frame), ``/tf_static`` (camera_link -> optical frame) and optionally
Isaac Sim's semantic segmentation pair. Tests and the ingest benchmark use it; so can a user who
wants to hand a simulator recording to ROS tools.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mem3d.errors import InvalidInputError
from mem3d.types import Observation
from ros_bridge.convert.camera import intrinsics_to_camera_info
from ros_bridge.convert.images import array_to_image, depth_to_image
from ros_bridge.convert.transforms import matrix_to_rigid
from ros_bridge.labels import label_table
from ros_bridge.topics import DEFAULT_TOPICS, CameraTopics

BAG_FORMATS = ("rosbag1", "sqlite3", "mcap")
TF_MESSAGE_DEFINITION = "geometry_msgs/TransformStamped[] transforms\n"
T_LINK_OPTICAL = np.array([[0.0, 0.0, 1.0, 0.0], [-1.0, 0.0, 0.0, 0.0], [0.0, -1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
"""The optical frame (z forward, x right, y down) in a REP-103 camera_link (x forward, y left, z up)."""


@dataclass(frozen=True)
class BagLayout:
    topics: CameraTopics = DEFAULT_TOPICS
    world_frame: str = "map"
    link_frame: str = "camera_link"
    optical_frame: str = "camera_color_optical_frame"
    color_encoding: str = "rgb8"
    depth_encoding: str = "16UC1"
    tf: bool = True
    """Write /tf and /tf_static (False: a bag without poses)."""
    semantic: bool = True
    """Write the segmentation image and label table when observations have them."""


class BagRecorder:
    """``with BagRecorder(path, "mcap") as bag: bag.write_observation(obs)``."""

    def __init__(self, path: str | Path, fmt: str, layout: BagLayout | None = None) -> None:
        from rosbags.typesys import Stores, get_typestore

        if fmt not in BAG_FORMATS:
            raise InvalidInputError(f"bag format must be one of {BAG_FORMATS}, got {fmt!r}")
        self.path, self.format, self.layout = Path(path), fmt, layout or BagLayout()
        self.ros1 = fmt == "rosbag1"
        self.typestore = get_typestore(Stores.ROS1_NOETIC if self.ros1 else Stores.ROS2_HUMBLE)
        if self.ros1:  # rosbags' ROS 1 type store has no tf2_msgs: the definition is one line
            from rosbags.typesys import get_types_from_msg

            self.typestore.register(get_types_from_msg(TF_MESSAGE_DEFINITION, "tf2_msgs/msg/TFMessage"))
        if self.ros1:
            from rosbags.rosbag1 import Writer

            self._writer = Writer(self.path)
        else:
            from rosbags.rosbag2 import StoragePlugin, Writer

            plugin = StoragePlugin.MCAP if fmt == "mcap" else StoragePlugin.SQLITE3
            self._writer = Writer(self.path, version=9, storage_plugin=plugin)
        self._connections: dict[str, object] = {}
        self._static_written = False

    def __enter__(self) -> BagRecorder:
        self._writer.open()
        return self

    def __exit__(self, *exc_info) -> None:
        self._writer.close()

    def message(self, msgtype: str, **fields):
        """A message of this bag's type store (``msgtype`` like ``sensor_msgs/msg/Image``)."""
        return self.typestore.types[msgtype](**fields)

    def header(self, stamp: float, frame_id: str):
        sec = int(np.floor(stamp))
        time = self.message("builtin_interfaces/msg/Time", sec=sec, nanosec=int(round((stamp - sec) * 1e9)))
        extra = {"seq": 0} if self.ros1 else {}
        return self.message("std_msgs/msg/Header", stamp=time, frame_id=frame_id, **extra)

    def write(self, topic: str, msgtype: str, msg, stamp: float) -> None:
        """Serialise and write one message, received at ``stamp`` seconds."""
        if topic not in self._connections:
            self._connections[topic] = self._writer.add_connection(topic, msgtype, typestore=self.typestore)
        data = (self.typestore.serialize_ros1(msg, msgtype) if self.ros1
                else self.typestore.serialize_cdr(msg, msgtype))
        self._writer.write(self._connections[topic], int(round(stamp * 1e9)), bytes(data))

    def image(self, fields, stamp: float, frame_id: str):
        return self.message("sensor_msgs/msg/Image", header=self.header(stamp, frame_id), height=fields.height,
                            width=fields.width, encoding=fields.encoding, is_bigendian=fields.is_bigendian,
                            step=fields.step, data=fields.data)

    def transform(self, parent: str, child: str, T_parent_child: np.ndarray, stamp: float):
        rigid = matrix_to_rigid(T_parent_child)
        translation = self.message("geometry_msgs/msg/Vector3", **dict(zip("xyz", rigid.translation)))
        rotation = self.message("geometry_msgs/msg/Quaternion", **dict(zip("xyzw", rigid.rotation)))
        return self.message("geometry_msgs/msg/TransformStamped", header=self.header(stamp, parent),
                            child_frame_id=child,
                            transform=self.message("geometry_msgs/msg/Transform", translation=translation,
                                                   rotation=rotation))

    def write_transforms(self, topic: str, transforms: list, stamp: float) -> None:
        self.write(topic, "tf2_msgs/msg/TFMessage", self.message("tf2_msgs/msg/TFMessage", transforms=transforms),
                   stamp)

    def camera_info(self, obs: Observation, stamp: float):
        info = intrinsics_to_camera_info(obs.intrinsics)
        roi = self.message("sensor_msgs/msg/RegionOfInterest", x_offset=0, y_offset=0, height=0, width=0,
                           do_rectify=False)
        arrays = {name.upper() if self.ros1 else name: np.asarray(getattr(info, name), dtype=np.float64)
                  for name in ("d", "k", "r", "p")}
        return self.message("sensor_msgs/msg/CameraInfo", header=self.header(stamp, self.layout.optical_frame),
                            height=info.height, width=info.width, distortion_model=info.distortion_model,
                            binning_x=0, binning_y=0, roi=roi, **arrays)

    def write_observation(self, obs: Observation) -> None:
        """The messages of one observation, stamped ``obs.stamp``: TF first, then the camera topics."""
        layout, topics, stamp = self.layout, self.layout.topics, float(obs.stamp)
        if layout.tf:
            if not self._static_written:
                static = self.transform(layout.link_frame, layout.optical_frame, T_LINK_OPTICAL, stamp)
                self.write_transforms("/tf_static", [static], stamp)
                self._static_written = True
            T_world_link = obs.T_world_camera @ np.linalg.inv(T_LINK_OPTICAL)
            self.write_transforms("/tf", [self.transform(layout.world_frame, layout.link_frame, T_world_link, stamp)],
                                  stamp)
        frame = layout.optical_frame
        self.write(topics.color, "sensor_msgs/msg/Image",
                   self.image(array_to_image(obs.rgb, layout.color_encoding), stamp, frame), stamp)
        self.write(topics.depth, "sensor_msgs/msg/Image",
                   self.image(depth_to_image(obs.depth, layout.depth_encoding), stamp, frame), stamp)
        self.write(topics.camera_info, "sensor_msgs/msg/CameraInfo", self.camera_info(obs, stamp), stamp)
        if layout.semantic and obs.semantic is not None:
            self.write(topics.semantic_labels, "std_msgs/msg/String",
                       self.message("std_msgs/msg/String", data=label_table(dict(obs.labels))), stamp)
            self.write(topics.semantic, "sensor_msgs/msg/Image",
                       self.image(array_to_image(obs.semantic, "32SC1"), stamp, frame), stamp)


def write_bag(path: str | Path, observations, fmt: str, layout: BagLayout | None = None) -> Path:
    """Write every observation of an iterable into a new bag at ``path``; returns the path."""
    with BagRecorder(path, fmt, layout) as bag:
        for obs in observations:
            bag.write_observation(obs)
    return Path(path)
