"""The live ROS 2 node (rclpy; runs in the ``make ros-env`` environment). See docs/ros.md."""
