"""Bags without ROS (the pure-Python ``rosbags`` library): reading them as a ``Source``, writing them."""
