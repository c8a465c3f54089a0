"""``nav_msgs/OccupancyGrid`` fields <-> a 2D grid.

The grid is an (H, W) int8 array, row = y index, column = x index, cell (0, 0) at ``origin`` (the
world position of its corner, metres, z up), with ROS's values: -1 unknown, 0 free ... 100 occupied.
Only origins without rotation about x / y are supported (a yaw is kept in the 4x4 origin).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mem3d.errors import InvalidInputError
from ros_bridge.convert.transforms import RigidFields, matrix_to_rigid, pose_to_matrix

UNKNOWN, FREE, OCCUPIED = -1, 0, 100
INFLATED = 99
"""A free cell within the robot radius of an obstacle: "inscribed", as costmaps write it."""


@dataclass(frozen=True)
class Grid2D:
    """An occupancy grid in the world frame."""

    cells: np.ndarray
    """(H, W) int8: -1 unknown, 0 free .. 100 occupied; row = y, column = x."""
    resolution: float
    """Metres per cell."""
    T_world_origin: np.ndarray
    """(4, 4) pose of the corner of cell (0, 0), world frame."""

    def __post_init__(self) -> None:
        cells = np.asarray(self.cells)
        if cells.ndim != 2 or cells.dtype != np.int8:
            raise InvalidInputError(f"grid cells must be (H, W) int8, got {cells.shape} {cells.dtype}")
        if not (np.isfinite(self.resolution) and self.resolution > 0):
            raise InvalidInputError(f"grid resolution must be positive metres, got {self.resolution}")
        if cells.size and ((cells < UNKNOWN) | (cells > OCCUPIED)).any():
            raise InvalidInputError("grid cells must lie in [-1, 100]")


@dataclass(frozen=True)
class GridFields:
    """The fields of a ``nav_msgs/OccupancyGrid`` (header and map_load_time excluded)."""

    width: int
    height: int
    resolution: float
    origin: RigidFields
    data: np.ndarray
    """(height * width,) int8, row-major."""


def grid_to_message(grid: Grid2D) -> GridFields:
    height, width = grid.cells.shape
    return GridFields(width, height, float(grid.resolution), matrix_to_rigid(grid.T_world_origin),
                      np.ascontiguousarray(grid.cells).ravel())


def message_to_grid(msg) -> Grid2D:
    """The grid of an OccupancyGrid-like message (``info`` with width, height, resolution, origin; ``data``)."""
    info = msg.info
    width, height = int(info.width), int(info.height)
    data = np.asarray(msg.data, dtype=np.int8)
    if data.size != width * height:
        raise InvalidInputError(f"occupancy grid {width}x{height} has {data.size} cells")
    return Grid2D(data.reshape(height, width).copy(), float(info.resolution), pose_to_matrix(info.origin))


def occupancy_to_grid(occupancy) -> Grid2D:
    """The memory's traversability window (``mem3d.nav.traversability.OccupancyGrid``) in ROS values:
    unknown -1, free 0, inflated 99, occupied 100; its corner at (col0, row0) cells, z = 0."""
    from mem3d.nav import traversability as nav

    values = np.full(occupancy.codes.shape, UNKNOWN, dtype=np.int8)
    values[occupancy.codes == nav.FREE] = FREE
    values[occupancy.codes == nav.INFLATED] = INFLATED
    values[occupancy.codes == nav.OCCUPIED] = OCCUPIED
    T_world_origin = np.eye(4)
    T_world_origin[:2, 3] = occupancy.origin_xy
    return Grid2D(values, float(occupancy.cell_m), T_world_origin)
