"""Packed int64 keys for integer voxel (and block) coordinates.

A voxel with integer coordinates (i, j, k) = floor(p / voxel_size) packs into one int64 with 21 bits
per axis, so each axis spans [-2^20, 2^20) voxels (+-52 km at 5 cm). Blocks group 8x8x8 voxels; a
voxel's block coordinates are (i, j, k) >> 3 and its cell inside the block is a number in [0, 512).
"""

from __future__ import annotations

import numpy as np

from mem3d.errors import InvalidInputError

AXIS_BITS = 21
AXIS_OFFSET = 1 << (AXIS_BITS - 1)
AXIS_MASK = (1 << AXIS_BITS) - 1
BLOCK_SHIFT = 3
BLOCK_EDGE = 1 << BLOCK_SHIFT
CELLS_PER_BLOCK = BLOCK_EDGE**3


def voxel_coords(points: np.ndarray, voxel_size: float) -> np.ndarray:
    """(N, 3) world points in metres -> (N, 3) int64 voxel coordinates (floor division)."""
    coords = np.floor(points * (1.0 / voxel_size)).astype(np.int64)
    if coords.size and (coords.min() < -AXIS_OFFSET or coords.max() >= AXIS_OFFSET):
        raise InvalidInputError(
            f"points lie beyond the map's range of +-{AXIS_OFFSET * voxel_size:.0f} m from the origin")
    return coords


def pack(coords: np.ndarray) -> np.ndarray:
    """(N, 3) int64 coordinates -> (N,) int64 keys."""
    shifted = coords + AXIS_OFFSET
    return (shifted[:, 0] << (2 * AXIS_BITS)) | (shifted[:, 1] << AXIS_BITS) | shifted[:, 2]


def unpack(keys: np.ndarray) -> np.ndarray:
    """(N,) int64 keys -> (N, 3) int64 coordinates."""
    keys = np.asarray(keys, dtype=np.int64)
    out = np.empty((keys.shape[0], 3), dtype=np.int64)
    out[:, 0] = (keys >> (2 * AXIS_BITS)) & AXIS_MASK
    out[:, 1] = (keys >> AXIS_BITS) & AXIS_MASK
    out[:, 2] = keys & AXIS_MASK
    return out - AXIS_OFFSET


def group(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K,) distinct keys, sorted; the index of one occurrence of each; (N,) each key's group in them.

    What ``np.unique(keys, return_index=True, return_inverse=True)`` gives, except that the
    occurrence is any one, not the first: so an unstable sort does, 5x faster than the stable one.
    """
    order = np.argsort(keys)
    sorted_keys = keys[order]
    new = sorted_keys[1:] != sorted_keys[:-1]
    starts = np.flatnonzero(np.concatenate((np.ones(min(keys.size, 1), dtype=bool), new)))
    inverse = np.empty(keys.size, dtype=np.int64)
    inverse[order] = np.concatenate((np.zeros(min(keys.size, 1), dtype=np.int64), np.cumsum(new)))
    return sorted_keys[starts], order[starts], inverse


def block_of(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Voxel coordinates -> (block coordinates (N, 3) int64, cell index within the block (N,) int64)."""
    blocks = coords >> BLOCK_SHIFT
    local = coords & (BLOCK_EDGE - 1)
    cells = (local[:, 0] << (2 * BLOCK_SHIFT)) | (local[:, 1] << BLOCK_SHIFT) | local[:, 2]
    return blocks, cells


def centers(keys: np.ndarray, voxel_size: float) -> np.ndarray:
    """(N,) keys -> (N, 3) float64 voxel centre positions in metres."""
    return (unpack(keys) + 0.5) * voxel_size
