"""``sensor_msgs/Image`` fields <-> numpy arrays.

Colour: ``rgb8``, ``bgr8``, ``rgba8``, ``bgra8`` and ``mono8`` decode to (H, W, 3) uint8 RGB.
Depth: ``16UC1`` / ``mono16`` are millimetres (the RealSense / Orbbec convention), ``32FC1`` is
metres; both decode to (H, W) float32 metres with 0 = no measurement. Ids (semantic segmentation):
any integer single-channel encoding decodes to (H, W) int32. Rows may be padded (``step`` larger
than ``width * bytes per pixel``); ``is_bigendian`` is honoured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mem3d.errors import InvalidInputError

_CHANNELS: dict[str, tuple[np.dtype, int]] = {
    "rgb8": (np.dtype(np.uint8), 3), "bgr8": (np.dtype(np.uint8), 3), "rgba8": (np.dtype(np.uint8), 4),
    "bgra8": (np.dtype(np.uint8), 4), "mono8": (np.dtype(np.uint8), 1), "8UC1": (np.dtype(np.uint8), 1),
    "mono16": (np.dtype(np.uint16), 1), "16UC1": (np.dtype(np.uint16), 1), "16SC1": (np.dtype(np.int16), 1),
    "32SC1": (np.dtype(np.int32), 1), "32FC1": (np.dtype(np.float32), 1), "64FC1": (np.dtype(np.float64), 1),
}
COLOR_ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8", "mono8")
DEPTH_ENCODINGS = ("16UC1", "mono16", "32FC1")
ID_ENCODINGS = ("8UC1", "mono8", "16UC1", "mono16", "32SC1")
MM_PER_M = 1000.0


class UnsupportedEncodingError(InvalidInputError):
    """An image encoding this bridge cannot decode for that role (names the ones it can)."""


@dataclass(frozen=True)
class ImageFields:
    """The fields of a ``sensor_msgs/Image`` (header excluded)."""

    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    """Bytes per row."""
    data: np.ndarray
    """(height * step,) uint8."""


def image_to_array(msg) -> np.ndarray:
    """The pixels of an Image-like message as (H, W) or (H, W, C), in the encoding's own dtype and order."""
    encoding = str(msg.encoding)
    if encoding not in _CHANNELS:
        raise UnsupportedEncodingError(f"unsupported image encoding {encoding!r}; supported: {', '.join(_CHANNELS)}")
    dtype, channels = _CHANNELS[encoding]
    dtype = dtype.newbyteorder(">" if msg.is_bigendian else "<")
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    row_bytes = width * channels * dtype.itemsize
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if step < row_bytes or data.size < height * step:
        raise InvalidInputError(f"image {width}x{height} {encoding} needs {height} rows of {row_bytes} bytes "
                                f"(step {step}), but has {data.size} bytes")
    rows = data[:height * step].reshape(height, step)[:, :row_bytes]
    pixels = np.ascontiguousarray(rows).view(dtype).reshape(height, width, channels)
    return pixels[..., 0] if channels == 1 else pixels


def decode_color(msg) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a colour image (rgb8, bgr8, rgba8, bgra8 or mono8)."""
    if msg.encoding not in COLOR_ENCODINGS:
        raise UnsupportedEncodingError(f"colour image encoding {msg.encoding!r} is not supported; "
                                       f"use one of {', '.join(COLOR_ENCODINGS)}")
    pixels = image_to_array(msg)
    if msg.encoding == "mono8":
        return np.repeat(pixels[..., None], 3, axis=2)
    rgb = pixels[..., :3]
    if not msg.encoding.startswith("bgr"):
        return np.ascontiguousarray(rgb)
    swapped = rgb.copy()  # a copy and two channel writes: a quarter of the cost of copying rgb[..., ::-1]
    swapped[..., 0], swapped[..., 2] = rgb[..., 2], rgb[..., 0]
    return swapped


def decode_depth(msg) -> np.ndarray:
    """(H, W) float32 z-depth in metres (16UC1 / mono16 millimetres, 32FC1 metres); 0 = no measurement."""
    if msg.encoding not in DEPTH_ENCODINGS:
        raise UnsupportedEncodingError(f"depth image encoding {msg.encoding!r} is not supported; "
                                       f"use 16UC1 / mono16 (millimetres) or 32FC1 (metres)")
    pixels = image_to_array(msg)
    if pixels.dtype.kind == "u":
        return np.divide(pixels, np.float32(MM_PER_M), dtype=np.float32)  # one pass, no float copy first
    depth = pixels.astype(np.float32)
    depth[~np.isfinite(depth)] = 0.0
    return depth


def decode_ids(msg) -> np.ndarray:
    """(H, W) int32 integer ids of a segmentation image (0 = none); read-only when the message's own
    buffer already holds int32 (32SC1)."""
    if msg.encoding not in ID_ENCODINGS:
        raise UnsupportedEncodingError(f"segmentation image encoding {msg.encoding!r} is not supported; "
                                       f"use one of {', '.join(ID_ENCODINGS)}")
    return image_to_array(msg).astype(np.int32, copy=False)


def array_to_image(pixels: np.ndarray, encoding: str) -> ImageFields:
    """The Image fields of ``pixels`` (rows unpadded, little-endian). rgb8/bgr8 take (H, W, 3) uint8 RGB
    (bgr8 swaps the channels), 16UC1 / mono16 (H, W) uint16, 32FC1 (H, W) float32, and so on."""
    if encoding not in _CHANNELS:
        raise UnsupportedEncodingError(f"unsupported image encoding {encoding!r}; supported: {', '.join(_CHANNELS)}")
    dtype, channels = _CHANNELS[encoding]
    pixels = np.asarray(pixels)
    if encoding.startswith("bgr"):
        pixels = pixels[..., [2, 1, 0, *range(3, pixels.shape[-1])]]
    shape = pixels.shape[:2] + ((channels,) if channels > 1 else ())
    if pixels.shape != shape or pixels.ndim != (3 if channels > 1 else 2):
        raise InvalidInputError(f"{encoding} needs an array of shape (H, W{', %d' % channels if channels > 1 else ''})"
                                f", got {pixels.shape}")
    data = np.ascontiguousarray(pixels, dtype=dtype.newbyteorder("<"))
    height, width = pixels.shape[:2]
    return ImageFields(height, width, encoding, 0, width * channels * dtype.itemsize, data.view(np.uint8).ravel())


def depth_to_image(depth_m: np.ndarray, encoding: str = "16UC1") -> ImageFields:
    """(H, W) metres as a 16UC1 (millimetres, rounded, clipped to 65.535 m) or 32FC1 / 64FC1 (metres) image."""
    depth_m = np.asarray(depth_m, dtype=np.float32)
    if encoding in ("32FC1", "64FC1"):
        return array_to_image(depth_m, encoding)
    if encoding not in ("16UC1", "mono16"):
        raise UnsupportedEncodingError(f"depth can be written as 16UC1, mono16, 32FC1 or 64FC1, not {encoding!r}")
    valid = np.where(np.isfinite(depth_m), depth_m, 0.0)
    return array_to_image(np.clip(np.rint(valid * MM_PER_M), 0, 65535).astype(np.uint16), encoding)
