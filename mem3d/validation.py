"""Checks for arrays that cross a boundary. Each raises ``InvalidInputError`` with a clear message."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mem3d.errors import InvalidInputError

RIGID_TOLERANCE = 1e-4


def require(condition: bool, message: str) -> None:
    """Raise ``InvalidInputError(message)`` unless ``condition`` (config checks)."""
    if not condition:
        raise InvalidInputError(message)


def require_array(name: str, value: object, *, ndim: int | None = None,
                  shape: Sequence[int | None] | None = None,
                  dtypes: Sequence[type | np.dtype] | None = None) -> np.ndarray:
    """Check that ``value`` is an ndarray with the given rank, shape (None = any) and dtype."""
    if not isinstance(value, np.ndarray):
        raise InvalidInputError(f"{name} must be a numpy array, got {type(value).__name__}")
    if ndim is not None and value.ndim != ndim:
        raise InvalidInputError(f"{name} must have {ndim} dimensions, got shape {value.shape}")
    if shape is not None:
        if value.ndim != len(shape) or any(want is not None and got != want
                                           for got, want in zip(value.shape, shape)):
            pretty = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise InvalidInputError(f"{name} must have shape {pretty}, got {value.shape}")
    if dtypes is not None and not any(value.dtype == np.dtype(d) for d in dtypes):
        names = ", ".join(np.dtype(d).name for d in dtypes)
        raise InvalidInputError(f"{name} must have dtype {names}, got {value.dtype}")
    return value


INT64_MAX = 2**63 - 1


def require_int(name: str, value: object, low: int = 0, high: int = INT64_MAX) -> int:
    """Check an integer (Python or numpy, not bool) in [low, high]."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidInputError(f"{name} must be an integer, got {type(value).__name__}")
    if not low <= int(value) <= high:
        raise InvalidInputError(f"{name} must lie in [{low}, {high}], got {int(value)}")
    return int(value)


def require_real(name: str, value: object) -> float:
    """Check a finite real number (int or float, not bool)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidInputError(f"{name} must be a number, got {type(value).__name__}")
    if not np.isfinite(value):
        raise InvalidInputError(f"{name} must be finite, got {value}")
    return float(value)


def require_finite(name: str, value: np.ndarray) -> np.ndarray:
    """Reject NaN and infinity."""
    if not np.isfinite(value).all():
        bad = int(np.count_nonzero(~np.isfinite(value)))
        raise InvalidInputError(f"{name} contains {bad} non-finite value(s)")
    return value


def require_rigid_pose(name: str, pose: object) -> np.ndarray:
    """Check a 4x4 float64 rigid transform: finite, orthonormal rotation with det +1, last row (0, 0, 0, 1).

    Poses are float64 everywhere (docs/architecture.md, docs/protocol.md); a float32 one is refused
    rather than silently converted.
    """
    pose = require_array(name, pose, shape=(4, 4), dtypes=(np.float64,))
    require_finite(name, pose)
    rotation = pose[:3, :3].astype(np.float64)
    if not np.allclose(pose[3], (0.0, 0.0, 0.0, 1.0), atol=RIGID_TOLERANCE):
        raise InvalidInputError(f"{name} last row must be (0, 0, 0, 1), got {pose[3].tolist()}")
    if not np.allclose(rotation.T @ rotation, np.eye(3), atol=RIGID_TOLERANCE):
        raise InvalidInputError(f"{name} rotation is not orthonormal (not a rigid transform)")
    if np.linalg.det(rotation) < 0:
        raise InvalidInputError(f"{name} rotation has determinant -1 (a reflection, not a rotation)")
    return pose


def require_unit_rows(name: str, features: np.ndarray, tolerance: float = 1e-2) -> np.ndarray:
    """Check that each row is L2-normalised (within ``tolerance``)."""
    norms = np.linalg.norm(features.astype(np.float32, copy=False), axis=1)
    if features.shape[0] and np.abs(norms - 1.0).max() > tolerance:
        worst = float(norms[np.argmax(np.abs(norms - 1.0))])
        raise InvalidInputError(f"{name} rows must be L2-normalised, found a row of norm {worst:.4f}")
    return features
