"""``python -m ros_bridge [--ros-args -p name:=value ...]``: run the bridge node (needs rclpy)."""

import sys

from ros_bridge.node.bridge import main

raise SystemExit(main(sys.argv))
