"""Field dataclasses of ``ros_bridge.convert`` -> rclpy messages, and memory answers -> markers."""

from __future__ import annotations

import array

import numpy as np
from geometry_msgs.msg import Point, Pose, PoseStamped, Quaternion
from nav_msgs.msg import OccupancyGrid, Path
from sensor_msgs.msg import PointCloud2, PointField
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from mem3d.types import Candidate
from ros_bridge.convert.clouds import CloudFields
from ros_bridge.convert.grids import Grid2D, grid_to_message
from ros_bridge.convert.transforms import RigidFields


def pose_msg(rigid: RigidFields) -> Pose:
    return Pose(position=Point(x=rigid.translation[0], y=rigid.translation[1], z=rigid.translation[2]),
                orientation=Quaternion(x=rigid.rotation[0], y=rigid.rotation[1], z=rigid.rotation[2],
                                       w=rigid.rotation[3]))


def cloud_msg(fields: CloudFields, header: Header) -> PointCloud2:
    return PointCloud2(header=header, height=fields.height, width=fields.width,
                       fields=[PointField(name=f.name, offset=f.offset, datatype=f.datatype, count=f.count)
                               for f in fields.fields],
                       is_bigendian=fields.is_bigendian, point_step=fields.point_step, row_step=fields.row_step,
                       data=fields.data.tobytes(), is_dense=fields.is_dense)


def grid_msg(grid: Grid2D, header: Header) -> OccupancyGrid:
    fields = grid_to_message(grid)
    msg = OccupancyGrid(header=header)
    msg.info.resolution, msg.info.width, msg.info.height = fields.resolution, fields.width, fields.height
    msg.info.origin = pose_msg(fields.origin)
    msg.data = array.array("b", fields.data.tobytes())
    return msg


def candidate_markers(candidates: tuple[Candidate, ...], text: str, header: Header) -> MarkerArray:
    """A DELETEALL, then per candidate a box (its extent, green to red by rank) and a text label."""
    markers = [Marker(header=header, action=Marker.DELETEALL)]
    for rank, candidate in enumerate(candidates):
        lo, hi = np.asarray(candidate.bbox_min), np.asarray(candidate.bbox_max)
        centre, size = (lo + hi) / 2, np.maximum(hi - lo, 0.01)
        shade = rank / max(len(candidates) - 1, 1)
        box = Marker(header=header, ns="mem3d/candidates", id=2 * rank, type=Marker.CUBE, action=Marker.ADD)
        box.pose.position = Point(x=float(centre[0]), y=float(centre[1]), z=float(centre[2]))
        box.pose.orientation.w = 1.0
        box.scale.x, box.scale.y, box.scale.z = (float(v) for v in size)
        box.color = ColorRGBA(r=float(shade), g=float(1 - shade), b=0.1, a=0.5)
        label = Marker(header=header, ns="mem3d/labels", id=2 * rank + 1, type=Marker.TEXT_VIEW_FACING,
                       action=Marker.ADD, text=f"{text} {candidate.score:.2f}")
        label.pose.position = Point(x=float(centre[0]), y=float(centre[1]), z=float(hi[2] + 0.15))
        label.pose.orientation.w = 1.0
        label.scale.z = 0.15
        label.color = ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0)
        markers += [box, label]
    return MarkerArray(markers=markers)


def goal_pose(candidate: Candidate, header: Header) -> PoseStamped:
    msg = PoseStamped(header=header)
    msg.pose.position = Point(x=float(candidate.centroid[0]), y=float(candidate.centroid[1]),
                              z=float(candidate.centroid[2]))
    msg.pose.orientation.w = 1.0
    return msg


def path_msg(points_xy: np.ndarray, z: float, header: Header) -> Path:
    """A ``nav_msgs/Path`` through (K, 2) world xy points at height ``z`` (m), each pose facing along
    the leg it starts (the last one keeps the heading of the leg before it)."""
    points = np.asarray(points_xy, np.float64).reshape(-1, 2)
    legs = np.diff(points, axis=0)
    yaws = np.arctan2(legs[:, 1], legs[:, 0]) if len(legs) else np.zeros(0)
    yaws = np.append(yaws, yaws[-1] if len(yaws) else 0.0)
    path = Path(header=header)
    for (x, y), yaw in zip(points, yaws):
        pose = PoseStamped(header=header)
        pose.pose.position = Point(x=float(x), y=float(y), z=float(z))
        pose.pose.orientation = Quaternion(z=float(np.sin(yaw / 2)), w=float(np.cos(yaw / 2)))
        path.poses.append(pose)
    return path
