"""Pure conversions between ROS message fields and numpy / mem3d types (no rclpy needed).

Every function reads or returns plain message *fields*, so the same code serves rclpy messages, the
dataclasses of ``rosbags`` and anything with the same attribute names:

    images      sensor_msgs/Image <-> (H, W[, C]) arrays: rgb8, bgr8, mono8, mono16 / 16UC1 (mm), 32FC1 (m)
    camera      sensor_msgs/CameraInfo <-> CameraIntrinsics
    transforms  geometry_msgs Transform / Pose <-> 4x4 matrices, interpolation between poses
    clouds      sensor_msgs/PointCloud2 <-> structured numpy arrays
    grids       nav_msgs/OccupancyGrid <-> a 2D grid
"""
