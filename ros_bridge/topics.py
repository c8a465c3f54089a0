"""Topic and frame names shared by the live node and bag ingestion, with RealSense-style defaults.

``realsense2_camera`` (``align_depth.enable:=true``) publishes these; Orbbec's ``orbbec_camera`` uses
the same names under ``/camera`` (its depth aligned with ``depth_registration:=true``). The semantic
pair follows Isaac Sim's ROS 2 camera helper: an integer-id ``sensor_msgs/Image`` and a
``std_msgs/String`` with the JSON label table ``{"<id>": {"class": "<label>"}}``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CameraTopics:
    color: str = "/camera/color/image_raw"
    depth: str = "/camera/aligned_depth_to_color/image_raw"
    """Depth registered to the colour image (same size and optical frame)."""
    camera_info: str = "/camera/color/camera_info"
    semantic: str = "/semantic_segmentation"
    """Integer ids per pixel (optional)."""
    semantic_labels: str = "/semantic_labels"
    """JSON label table for ``semantic`` (optional)."""


@dataclass(frozen=True)
class Frames:
    world: str = "map"
    """The fixed frame poses are expressed in (z up)."""


DEFAULT_TOPICS = CameraTopics()
DEFAULT_FRAMES = Frames()
