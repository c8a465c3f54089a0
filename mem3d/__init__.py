"""mem3d: a dynamic spatio-semantic memory for robots.

The core imports with numpy, scipy, zarr, pyzmq and msgpack only; torch, open3d, ROS and simulators
stay in the edge packages (perception/, sim/, ros_bridge/) and load lazily.
"""

__version__ = "0.1.0"
