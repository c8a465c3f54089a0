"""``sensor_msgs/PointCloud2`` fields <-> numpy.

Reading gives a structured array with one named column per ``PointField`` (count 1 fields; padding
skipped) and ``cloud_xyz`` the (N, 3) float64 points. Writing packs (N, 3) points as float32 x, y, z,
optional (N, 3) uint8 RGB as the PCL convention's packed float32 ``rgb`` (bytes b, g, r, 0), and
optional extra float32 columns (e.g. ``similarity`` to the last query), unorganised (height 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from mem3d.errors import InvalidInputError

DATATYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 8: "f8"}
"""sensor_msgs/PointField datatype constant -> numpy type code."""
FLOAT32 = 7


@dataclass(frozen=True)
class PointFieldSpec:
    name: str
    offset: int
    datatype: int
    count: int = 1


@dataclass(frozen=True)
class CloudFields:
    """The fields of a ``sensor_msgs/PointCloud2`` (header excluded)."""

    height: int
    width: int
    fields: tuple[PointFieldSpec, ...]
    is_bigendian: bool
    point_step: int
    row_step: int
    data: np.ndarray
    """(row_step * height,) uint8."""
    is_dense: bool


def cloud_dtype(msg) -> np.dtype:
    """The structured dtype of one point of a PointCloud2-like message."""
    order = ">" if msg.is_bigendian else "<"
    names, formats, offsets = [], [], []
    for field in msg.fields:
        if int(field.datatype) not in DATATYPES:
            raise InvalidInputError(f"point field {field.name!r} has unknown datatype {field.datatype}")
        code = order + DATATYPES[int(field.datatype)]
        names.append(str(field.name))
        formats.append(np.dtype(code) if int(field.count) <= 1 else np.dtype((code, int(field.count))))
        offsets.append(int(field.offset))
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": int(msg.point_step)})


def cloud_to_array(msg) -> np.ndarray:
    """(height * width,) structured array of a PointCloud2-like message."""
    dtype = cloud_dtype(msg)
    height, width, row_step = int(msg.height), int(msg.width), int(msg.row_step)
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if row_step < width * dtype.itemsize or data.size < height * row_step:
        raise InvalidInputError(f"point cloud of {height}x{width} points of {dtype.itemsize} bytes has "
                                f"{data.size} bytes (row_step {row_step})")
    rows = data[:height * row_step].reshape(height, row_step)[:, :width * dtype.itemsize]
    return np.ascontiguousarray(rows).view(dtype).reshape(-1)


def cloud_xyz(points: np.ndarray, skip_nans: bool = True) -> np.ndarray:
    """(N, 3) float64 x, y, z of a structured point array (non-finite points dropped with ``skip_nans``)."""
    xyz = np.stack([points[name].astype(np.float64) for name in ("x", "y", "z")], axis=1)
    return xyz[np.isfinite(xyz).all(axis=1)] if skip_nans else xyz


def unpack_rgb(packed: np.ndarray) -> np.ndarray:
    """(N, 3) uint8 RGB of PCL-packed float32 ``rgb`` values."""
    value = np.ascontiguousarray(packed, dtype=np.float32).view(np.uint32)
    return np.stack([(value >> 16) & 255, (value >> 8) & 255, value & 255], axis=1).astype(np.uint8)


def pack_rgb(colors: np.ndarray) -> np.ndarray:
    """(N,) float32 PCL-packed ``rgb`` of (N, 3) uint8 RGB."""
    c = np.asarray(colors, dtype=np.uint32)
    return ((c[:, 0] << 16) | (c[:, 1] << 8) | c[:, 2]).astype(np.uint32).view(np.float32)


def array_to_cloud(points: np.ndarray, colors: np.ndarray | None = None,
                   extra: Mapping[str, np.ndarray] | None = None) -> CloudFields:
    """PointCloud2 fields of (N, 3) points (metres), optional (N, 3) uint8 RGB and extra (N,) columns."""
    points = np.asarray(points, dtype=np.float32)
    if points.ndim != 2 or points.shape[1] != 3:
        raise InvalidInputError(f"points must be (N, 3), got {points.shape}")
    n = points.shape[0]
    columns: dict[str, np.ndarray] = {"x": points[:, 0], "y": points[:, 1], "z": points[:, 2]}
    if colors is not None:
        if np.shape(colors) != (n, 3):
            raise InvalidInputError(f"colors must be ({n}, 3) uint8, got {np.shape(colors)}")
        columns["rgb"] = pack_rgb(colors)
    for name, values in (extra or {}).items():
        if np.shape(values) != (n,):
            raise InvalidInputError(f"column {name!r} must have {n} values, got {np.shape(values)}")
        columns[name] = np.asarray(values, dtype=np.float32)
    specs = tuple(PointFieldSpec(name, 4 * i, FLOAT32) for i, name in enumerate(columns))
    packed = np.empty((n, len(columns)), dtype="<f4")
    for i, values in enumerate(columns.values()):
        packed[:, i] = values
    step = 4 * len(columns)
    return CloudFields(1, n, specs, False, step, step * n, packed.view(np.uint8).ravel(),
                       bool(np.isfinite(points).all()))
