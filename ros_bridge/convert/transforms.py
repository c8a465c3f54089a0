"""``geometry_msgs`` Transform / Pose fields <-> 4x4 rigid transforms, and interpolation between them.

Quaternions are ROS's (x, y, z, w), normalised on reading (a zero quaternion is an error). A
``Transform`` (translation, rotation) of ``parent`` -> ``child`` is ``T_parent_child``: it maps points
of the child frame into the parent frame, as does a ``Pose`` (position, orientation) of a frame
expressed in the header frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mem3d.errors import InvalidInputError


@dataclass(frozen=True)
class RigidFields:
    """Translation (x, y, z) metres and rotation quaternion (x, y, z, w) of a Transform or Pose."""

    translation: tuple[float, float, float]
    rotation: tuple[float, float, float, float]


def quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """(3, 3) rotation of a quaternion (x, y, z, w), normalised first."""
    q = np.asarray(q, dtype=np.float64)
    norm = float(np.linalg.norm(q))
    if not np.isfinite(norm) or norm < 1e-9:
        raise InvalidInputError(f"quaternion {q.tolist()} cannot be normalised")
    x, y, z, w = q / norm
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def matrix_to_quaternion(rotation: np.ndarray) -> np.ndarray:
    """(x, y, z, w) unit quaternion of a (3, 3) rotation, w >= 0 (Shepperd's method)."""
    r = np.asarray(rotation, dtype=np.float64)
    trace = r[0, 0] + r[1, 1] + r[2, 2]
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = [(r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s, 0.25 * s]
    else:
        i = int(np.argmax(np.diag(r)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * np.sqrt(1.0 + r[i, i] - r[j, j] - r[k, k])
        q = [0.0, 0.0, 0.0, (r[k, j] - r[j, k]) / s]
        q[i], q[j], q[k] = 0.25 * s, (r[j, i] + r[i, j]) / s, (r[k, i] + r[i, k]) / s
    q = np.asarray(q)
    q /= np.linalg.norm(q)
    return -q if q[3] < 0 else q


def rigid_matrix(translation, rotation) -> np.ndarray:
    """(4, 4) float64 transform of a translation (x, y, z) and a quaternion (x, y, z, w)."""
    T = np.eye(4)
    T[:3, :3] = quaternion_to_matrix(rotation)
    T[:3, 3] = np.asarray(translation, dtype=np.float64)
    if not np.isfinite(T).all():
        raise InvalidInputError(f"transform has non-finite values: translation {list(translation)}")
    return T


def transform_to_matrix(msg) -> np.ndarray:
    """``T_parent_child`` of a Transform-like message (``translation``, ``rotation``)."""
    t, q = msg.translation, msg.rotation
    return rigid_matrix((t.x, t.y, t.z), (q.x, q.y, q.z, q.w))


def pose_to_matrix(msg) -> np.ndarray:
    """``T_frame_body`` of a Pose-like message (``position``, ``orientation``)."""
    p, q = msg.position, msg.orientation
    return rigid_matrix((p.x, p.y, p.z), (q.x, q.y, q.z, q.w))


def matrix_to_rigid(T: np.ndarray) -> RigidFields:
    """Translation and quaternion of a (4, 4) rigid transform (for a Transform or a Pose)."""
    T = np.asarray(T, dtype=np.float64)
    x, y, z, w = matrix_to_quaternion(T[:3, :3])
    return RigidFields((float(T[0, 3]), float(T[1, 3]), float(T[2, 3])), (float(x), float(y), float(z), float(w)))


def interpolate(T_a: np.ndarray, T_b: np.ndarray, fraction: float) -> np.ndarray:
    """The rigid transform ``fraction`` of the way from ``T_a`` (0) to ``T_b`` (1): linear in
    translation, spherical-linear (slerp) in rotation."""
    qa, qb = matrix_to_quaternion(T_a[:3, :3]), matrix_to_quaternion(T_b[:3, :3])
    dot = float(qa @ qb)
    if dot < 0:
        qb, dot = -qb, -dot
    if dot > 0.9995:
        q = qa + fraction * (qb - qa)
    else:
        angle = np.arccos(np.clip(dot, -1.0, 1.0))
        q = (np.sin((1 - fraction) * angle) * qa + np.sin(fraction * angle) * qb) / np.sin(angle)
    return rigid_matrix(T_a[:3, 3] + fraction * (T_b[:3, 3] - T_a[:3, 3]), q)
