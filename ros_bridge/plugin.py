"""The bag source in the core source registry (``mem3d.source``): ``bag:PATH``.

``register()`` is this package's ``mem3d.plugins`` entry point; it imports nothing heavy (``rosbags``
is imported when a bag is opened).
"""

from __future__ import annotations

from mem3d.errors import InvalidInputError
from mem3d.source import OpenedSource, SourceSpec, register_source


def register() -> None:
    register_source("bag", open_bag, "bag:PATH")


def open_bag(spec: SourceSpec) -> OpenedSource:
    """A ROS 1 / ROS 2 bag played back with detected topics (no actions: it cannot be driven)."""
    from ros_bridge.bag.reader import BagSource

    if not spec.argument:
        raise InvalidInputError("bag needs a path: bag:PATH (a .bag file or a ROS 2 bag directory)")
    return OpenedSource(BagSource(spec.argument))
