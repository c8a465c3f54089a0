"""A bag as a ``Source``: ROS 1 ``.bag``, ROS 2 sqlite3 or MCAP, read with ``rosbags`` (no ROS needed).

Reading takes two passes. The first collects the poses: ``/tf`` and ``/tf_static``
(``tf2_msgs/TFMessage``) and any ``PoseStamped`` / ``Odometry`` pose topic, into a
``TransformBuffer``. The second plays the camera topics in order: the colour image is the pivot of an
approximate time synchronisation (``ros_bridge.sync``) with the depth image and, when present, the
semantic segmentation; ``camera_info`` and the label table are the latest ones received. Each set
becomes an ``Observation`` whose pose is ``T_world_camera`` interpolated at the colour image's
stamp. Frames that cannot be made (an unsupported encoding, no transform at that time, no
camera_info yet, depth of another size) are skipped and counted by reason in ``BagReport``;
everything else is delivered. A bag that ``rosbags`` cannot open (cut short: no index or summary) is
read up to its damage by ``ros_bridge.bag.salvage``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from mem3d.errors import EndOfStreamError, InvalidInputError, Mem3dError
from mem3d.source import Action, ActionResult
from mem3d.types import Observation
from ros_bridge.bag.salvage import RawMessage, salvage_messages
from ros_bridge.convert.transforms import pose_to_matrix, transform_to_matrix
from ros_bridge.frames import make_observation, stamp_of
from ros_bridge.labels import parse_label_table
from ros_bridge.sync import ApproximateSync, SyncedSet
from ros_bridge.tf_buffer import TransformBuffer, TransformError
from ros_bridge.topics import CameraTopics

log = logging.getLogger("mem3d.ros_bridge")

IMAGE, CAMERA_INFO, STRING = "sensor_msgs/msg/Image", "sensor_msgs/msg/CameraInfo", "std_msgs/msg/String"
TF_MESSAGE = "tf2_msgs/msg/TFMessage"
POSE_TYPES = ("geometry_msgs/msg/PoseStamped", "nav_msgs/msg/Odometry", "geometry_msgs/msg/PoseWithCovarianceStamped")
WORLD_FRAMES = ("map", "odom", "world")
"""Tried in this order as the world frame when none is given."""


class BagError(Mem3dError):
    """A bag that cannot be ingested at all (not a bag, no camera topics, no poses)."""


@dataclass(frozen=True)
class BagConfig:
    topics: CameraTopics | None = None
    """Camera topics; None = detect them from the bag's topic names and types."""
    pose_topic: str = ""
    """A PoseStamped / Odometry topic with the camera pose (its child frame, or ``camera_frame``);
    "" = /tf and /tf_static, or a pose topic when the bag has no TF."""
    world_frame: str = ""
    """"" = the first of map, odom, world in the TF tree, else the tree's root."""
    camera_frame: str = ""
    """"" = the colour image's header.frame_id."""
    slop_s: float = 0.02
    """Largest stamp difference between the colour image and its depth / segmentation, seconds."""
    extrapolation_s: float = 0.05
    """How far before the first / after the last pose a frame may still take the nearest pose, s."""
    ignore_distortion: bool = False
    """Treat distorted images as pinhole (see ``ros_bridge.convert.camera``)."""


@dataclass
class BagReport:
    """What a bag held and what reading it did (printed by ``mem3d ingest bag``)."""

    path: str
    format: str = ""
    topics: CameraTopics | None = None
    pose_source: str = ""
    world_frame: str = ""
    colour_messages: int = 0
    """Colour images in the bag (the most frames it can give)."""
    frames: int = 0
    """Observations delivered."""
    skipped: Counter = field(default_factory=Counter)
    """Reason -> frames skipped for it."""
    unsynchronised: int = 0
    damage: str = ""
    """Why the bag had to be salvaged ("" = it was intact)."""

    def messages(self) -> list[str]:
        """Human-readable lines: damage, skip reasons with counts, unsynchronised images."""
        lines = [self.damage] if self.damage else []
        lines += [f"{count} frame(s) skipped: {reason}" for reason, count in self.skipped.most_common()]
        if self.unsynchronised:
            lines.append(f"{self.unsynchronised} colour image(s) had no depth / segmentation within the sync slop")
        return lines


def bag_format(path: Path) -> str:
    if path.is_dir():
        return "mcap" if any(path.glob("*.mcap")) else "sqlite3" if any(path.glob("*.db3")) else "unknown"
    return "mcap" if path.suffix == ".mcap" else "sqlite3" if path.suffix == ".db3" else "rosbag1"


class _Bag:
    """The messages of a bag: through ``rosbags`` when it opens, else salvaged up to the damage."""

    def __init__(self, path: Path) -> None:
        from rosbags.highlevel import AnyReader

        self.path, self.damage = path, ""
        self._reader = None
        try:
            self._reader = AnyReader([path])
            self._reader.open()
        except Exception as error:  # rosbags raises several types for damaged files
            self._reader = None
            if not path.exists():
                raise BagError(f"no bag at {path}") from None
            self.damage = (f"the bag {path} is damaged ({error}); it was probably cut short while recording: "
                           "reading the complete messages before the damage")
            self._salvaged_types = self._salvage_types()
        self.types = self._topic_types()

    def _salvage_types(self) -> dict[str, str]:
        types: dict[str, str] = {}
        for message in salvage_messages(self.path):
            types.setdefault(message.topic, message.msgtype)
        return types

    def _topic_types(self) -> dict[str, str]:
        if self._reader is None:
            return dict(self._salvaged_types)
        return {c.topic: c.msgtype for c in self._reader.connections}

    def count(self, topic: str) -> int:
        if self._reader is None:
            return sum(1 for m in salvage_messages(self.path) if m.topic == topic)
        return sum(c.msgcount for c in self._reader.connections if c.topic == topic)

    def messages(self, topics: set[str]) -> Iterator[tuple[str, str, object]]:
        """(topic, msgtype, message) in time order (salvaged: file order) for ``topics``."""
        if self._reader is not None:
            connections = [c for c in self._reader.connections if c.topic in topics]
            for connection, _, raw in self._reader.messages(connections=connections):
                yield connection.topic, connection.msgtype, self._reader.deserialize(raw, connection.msgtype)
            return
        stores = _salvage_typestores()
        for message in salvage_messages(self.path):
            if message.topic in topics:
                yield message.topic, message.msgtype, _deserialize(stores, message)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()


def _salvage_typestores():
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    ros1 = get_typestore(Stores.ROS1_NOETIC)
    ros1.register(get_types_from_msg("geometry_msgs/TransformStamped[] transforms\n", TF_MESSAGE))
    return get_typestore(Stores.ROS2_HUMBLE), ros1


def _deserialize(stores, message: RawMessage):
    ros2, ros1 = stores
    if message.ros1:
        return ros1.deserialize_ros1(message.data, message.msgtype)
    return ros2.deserialize_cdr(message.data, message.msgtype)


def detect_topics(types: dict[str, str], given: CameraTopics | None = None) -> CameraTopics:
    """The camera topics of a bag from its topic names and types (``given`` ones are checked instead)."""
    if given is not None:
        for name in ("color", "depth", "camera_info"):
            topic = getattr(given, name)
            if topic not in types:
                raise BagError(f"the bag has no {name} topic {topic!r}; its topics: {_listing(types)}")
        present = {n: getattr(given, n) if getattr(given, n) in types else "" for n in ("semantic", "semantic_labels")}
        return replace(given, **present)
    images = [t for t, kind in types.items() if kind == IMAGE]
    semantic = _pick([t for t in images if "semantic" in t or "segmentation" in t], "semantic segmentation", types)
    depth = _pick([t for t in images if "depth" in t and t != semantic], "depth", types,
                  prefer=("aligned", "registered"))
    color = _pick([t for t in images if t not in (semantic, depth) and ("color" in t or "rgb" in t or "image" in t)
                   and "depth" not in t], "colour", types, prefer=("color", "rgb"))
    infos = [t for t, kind in types.items() if kind == CAMERA_INFO]
    namespace = color.rsplit("/", 1)[0]
    info = _pick([t for t in infos if t.startswith(namespace)] or infos, "camera_info", types)
    labels = _pick([t for t, kind in types.items() if kind == STRING and "label" in t], "semantic label", types)
    for name, topic in (("colour", color), ("depth", depth), ("camera_info", info)):
        if not topic:
            raise BagError(f"the bag has no {name} topic; its topics: {_listing(types)} (give the topics as options)")
    return CameraTopics(color, depth, info, semantic if labels else "", labels if semantic else "")


def _pick(candidates: list[str], what: str, types: dict[str, str], prefer: tuple[str, ...] = ()) -> str:
    for word in prefer:
        preferred = [t for t in candidates if word in t]
        if preferred:
            candidates = preferred
            break
    if len(candidates) > 1:
        raise BagError(f"the bag has several {what} topics ({', '.join(candidates)}): say which one to use")
    return candidates[0] if candidates else ""


def _listing(types: dict[str, str]) -> str:
    return ", ".join(f"{t} ({k})" for t, k in sorted(types.items())) or "none"


class BagSource:
    """Observations of a bag, in time order; passive (``act`` does nothing)."""

    def __init__(self, path: str | Path, config: BagConfig | None = None) -> None:
        self.config = config or BagConfig()
        path = Path(path)
        self.report = BagReport(str(path), bag_format(path))
        self._bag = _Bag(path)
        self.report.damage = self._bag.damage
        self.topics = detect_topics(self._bag.types, self.config.topics)
        self.report.topics = self.topics
        self.report.colour_messages = self._bag.count(self.topics.color)
        self._first: dict[str, object] = {}
        self.tf = self._read_poses()
        self._frames: Iterator[Observation] | None = None
        self._obs_id = 0

    @property
    def semantic(self) -> bool:
        """Whether frames carry a semantic segmentation (then label-embedding perception fits)."""
        return bool(self.topics.semantic)

    def _read_poses(self) -> TransformBuffer:
        types, config = self._bag.types, self.config
        tf = TransformBuffer(config.extrapolation_s)
        tf_topics = {t for t in ("/tf", "/tf_static") if types.get(t) == TF_MESSAGE}
        pose_topic = config.pose_topic
        if pose_topic and types.get(pose_topic) not in POSE_TYPES:
            raise BagError(f"pose topic {pose_topic!r} is not a PoseStamped / Odometry topic in the bag; "
                           f"its topics: {_listing(types)}")
        if not pose_topic and not tf_topics:
            poses = [t for t, kind in types.items() if kind in POSE_TYPES]
            pose_topic = poses[0] if len(poses) == 1 else ""
        if not tf_topics and not pose_topic:
            raise BagError(f"the bag has no /tf, /tf_static or pose topic (PoseStamped / Odometry), so no frame "
                           f"has a camera pose: record TF with the bag, or give --pose-topic; its topics: "
                           f"{_listing(types)}")
        firsts = {t for t in (self.topics.camera_info, self.topics.semantic_labels) if t}
        for topic, _, msg in self._bag.messages(tf_topics | firsts | ({pose_topic} if pose_topic else set())):
            if topic in firsts:
                self._first.setdefault(topic, msg)  # for frames recorded just before their first one
                continue
            if topic == pose_topic:
                child = getattr(msg, "child_frame_id", "") or config.camera_frame or "camera_pose"
                pose = msg.pose.pose if hasattr(msg.pose, "pose") else msg.pose
                tf.add(msg.header.frame_id, child, pose_to_matrix(pose), stamp_of(msg))
                continue
            for transform in msg.transforms:
                tf.add(transform.header.frame_id, transform.child_frame_id, transform_to_matrix(transform.transform),
                       stamp_of(transform), static=topic == "/tf_static")
        self.report.pose_source = " + ".join(sorted(tf_topics | ({pose_topic} if pose_topic else set())))
        if not len(tf):
            raise BagError(f"the bag's {self.report.pose_source} hold no transforms: no frame has a camera pose")
        self.report.world_frame = config.world_frame or next(
            (f for f in WORLD_FRAMES if f in tf.frames), "")
        return tf

    def _observations(self) -> Iterator[Observation]:
        topics = self.topics
        others = [topics.depth] + ([topics.semantic] if topics.semantic else [])
        sync = ApproximateSync(topics.color, others, self.config.slop_s)
        wanted = {topics.color, topics.depth, topics.camera_info} | (
            {topics.semantic, topics.semantic_labels} if topics.semantic else set())
        info = self._first.get(topics.camera_info)
        labels = self._labels(self._first[topics.semantic_labels]) if topics.semantic_labels in self._first else {}
        for topic, _, msg in self._bag.messages(wanted):
            if topic == topics.camera_info:
                info = msg
            elif topic == topics.semantic_labels:
                labels = {**labels, **self._labels(msg)}  # ids keep their class across a recording
            else:
                for synced in sync.add(topic, stamp_of(msg), (msg, info, dict(labels))):
                    obs = self._make(synced)
                    if obs is not None:
                        yield obs
        for synced in sync.flush():
            obs = self._make(synced)
            if obs is not None:
                yield obs
        self.report.unsynchronised = sync.counts.unsynchronised

    def _labels(self, msg) -> dict[int, str]:
        try:
            return parse_label_table(msg.data)
        except InvalidInputError as error:
            self.report.skipped[f"label table ignored: {error}"] += 1
            return {}

    def _make(self, synced: SyncedSet) -> Observation | None:
        topics = self.topics
        color, info, _ = synced.items[topics.color]
        semantic = synced.items[topics.semantic] if topics.semantic else (None, None, {})
        try:  # the label table as it was when the segmentation arrived
            obs = self._observation(synced.stamp, color, info, semantic[2], synced.items[topics.depth][0],
                                    semantic[0])
        except Mem3dError as error:
            self.report.skipped[str(error)] += 1
            return None
        self.report.frames += 1
        return obs

    def _observation(self, stamp: float, color, info, labels, depth_msg, semantic_msg) -> Observation:
        camera = self.config.camera_frame or color.header.frame_id
        world = self.report.world_frame or self.tf.root(camera)
        try:
            T_world_camera = self.tf.lookup(world, camera, stamp)
        except TransformError as error:
            raise TransformError(_tf_reason(str(error))) from None
        obs = make_observation(color, depth_msg, info, T_world_camera, self._obs_id, semantic_msg, labels,
                               self.config.ignore_distortion)
        self._obs_id += 1
        return obs

    # Source protocol
    def reset(self, seed: int | None = None) -> Observation:
        self._frames = self._observations()
        self._obs_id = 0
        return self.observe()

    def observe(self) -> Observation:
        if self._frames is None:
            self._frames = self._observations()
        obs = next(self._frames, None)
        if obs is None:
            raise EndOfStreamError(f"the bag {self.report.path} has no more frames")
        return obs

    def __iter__(self) -> Iterator[Observation]:
        while True:
            try:
                yield self.observe()
            except EndOfStreamError:
                return

    def act(self, action: Action) -> ActionResult:
        return ActionResult(False, "a bag is a recording: it cannot act")

    def close(self) -> None:
        self._bag.close()


def _tf_reason(message: str) -> str:
    """A transform error without its stamp, so that the frames it hits count under one reason."""
    head, _, tail = message.partition(" at t=")
    return head + (": " + tail.split(": ", 1)[1] if ": " in tail else "") if tail else message
