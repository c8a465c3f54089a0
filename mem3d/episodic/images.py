"""Keyframe image codecs: RGB as JPEG, depth as 16-bit PNG in millimetres (opencv, imported lazily)."""

from __future__ import annotations

import numpy as np

from mem3d.errors import NotAvailableError, StoreError

MAX_DEPTH_MM = 65535
"""Depths beyond 65.535 m are stored as 0 (no measurement)."""


def _cv2():
    try:
        import cv2
    except ImportError as error:  # opencv-python-headless is in the sim / perception extras
        raise NotAvailableError("keyframe images need opencv (pip install opencv-python-headless)") from error
    return cv2


def _encode(extension: str, image: np.ndarray, params: list[int]) -> bytes:
    ok, data = _cv2().imencode(extension, image, params)
    if not ok:
        raise StoreError(f"opencv could not encode a keyframe image as {extension}")
    return data.tobytes()


def encode_rgb(rgb: np.ndarray, quality: int = 90) -> bytes:
    """(H, W, 3) uint8 RGB -> JPEG bytes."""
    return _encode(".jpg", np.ascontiguousarray(rgb[..., ::-1]), [_cv2().IMWRITE_JPEG_QUALITY, int(quality)])


def decode_rgb(data: bytes) -> np.ndarray:
    """JPEG bytes -> (H, W, 3) uint8 RGB; ``StoreError`` if they are not a JPEG image."""
    cv2 = _cv2()
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise StoreError("a keyframe's RGB image is not a readable JPEG")
    return image[..., ::-1].copy()


def encode_depth(depth: np.ndarray) -> bytes:
    """(H, W) float32 metres (0 = none) -> 16-bit PNG bytes in millimetres."""
    mm = np.rint(np.nan_to_num(depth, nan=0.0, posinf=0.0) * 1000.0)
    mm[(mm < 0) | (mm > MAX_DEPTH_MM)] = 0
    return _encode(".png", mm.astype(np.uint16), [])


def decode_depth(data: bytes) -> np.ndarray:
    """16-bit PNG bytes in millimetres -> (H, W) float32 metres."""
    cv2 = _cv2()
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.dtype != np.uint16 or image.ndim != 2:
        raise StoreError("a keyframe's depth image is not a readable 16-bit PNG")
    return image.astype(np.float32) / 1000.0
