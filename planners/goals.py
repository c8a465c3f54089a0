"""Where to stand to look at an object: free cells at a standoff from a candidate with it in view.

World frame, metres. A candidate is a ``mem3d.types.Candidate`` (centroid and box of its voxels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from mem3d.nav.traversability import OCCUPIED
from mem3d.types import Candidate
from planners.grid import PlanningGrid


@dataclass(frozen=True)
class StandoffConfig:
    min_m: float = 0.3
    """Closest the robot's centre comes to the object's box (in the floor plane)."""
    max_m: float = 0.93
    """Farthest it stands from it: under the ObjectNav rule's 1.0 m by one voxel's overhang (a box of
    voxels reaches up to a voxel, 0.05 m, past the surface it was seen on) and a little more."""
    raised_m: float = 0.2
    """An object whose box starts this high above the floor (z = 0) stands on something: the occupied
    cells under it and joined to them are its support, no taller than the box's bottom, and a camera
    above that sees the object over it."""
    support_reach_m: float = 2.0
    """A support reaches at most this far past the object's box; what reaches farther (a counter that
    touches the walls, which run on) is taken for something that may hide it."""


NOISY_STANDOFF = StandoffConfig(max_m=0.7)
"""For perception whose boxes run past the object (labels bleeding onto what is round it, depth noise
at range: ``perception.degradation.DEGRADED`` widens a box by 0.1-0.25 m): stand nearer, so that a
stop 0.9 m from the memory's box is not 1.1 m from the object."""


def box_distance(points: np.ndarray, bbox_min, bbox_max) -> np.ndarray:
    """Floor-plane distance (m) of world points (..., 2) to a box's footprint (0 inside)."""
    lo, hi = np.asarray(bbox_min, float)[:2], np.asarray(bbox_max, float)[:2]
    gap = np.maximum(np.maximum(lo - points, points - hi), 0.0)
    return np.hypot(gap[..., 0], gap[..., 1])


def support_cells(grid: PlanningGrid, candidate: Candidate, camera_z: float | None,
                  config: StandoffConfig = StandoffConfig()) -> np.ndarray:
    """(H, W) bool: the occupied cells of what a raised candidate stands on (those under its box and
    8-connected to them, within ``support_reach_m`` of the box). A camera at height ``camera_z``
    (world z, metres) above the box's bottom looks down on the object over them: its sight line to
    the object's top descends from ``camera_z`` to the top, so it stays above a support no taller than
    the bottom. All False without a camera height, for an object on the floor, or for a support that
    runs on past the reach (it joins a wall)."""
    mask = np.zeros(grid.shape, bool)
    bottom = float(candidate.bbox_min[2])
    if camera_z is None or bottom < config.raised_m or camera_z <= bottom:
        return mask
    pad = int(np.ceil(config.support_reach_m / grid.cell_m))
    r_lo, c_lo = grid.cell(np.asarray(candidate.bbox_min[:2]))
    r_hi, c_hi = grid.cell(np.asarray(candidate.bbox_max[:2]))
    r0, r1 = max(0, r_lo - pad), min(grid.shape[0], r_hi + pad + 1)
    c0, c1 = max(0, c_lo - pad), min(grid.shape[1], c_hi + pad + 1)
    if r1 <= r0 or c1 <= c0:
        return mask
    labels, _ = ndimage.label(grid.codes[r0:r1, c0:c1] == OCCUPIED, structure=np.ones((3, 3)))
    under = labels[max(r_lo, r0) - r0:min(r_hi + 1, r1) - r0, max(c_lo, c0) - c0:min(c_hi + 1, c1) - c0]
    ids = np.unique(under[under > 0])
    if not len(ids):
        return mask
    support = np.isin(labels, ids)
    if support[0].any() or support[-1].any() or support[:, 0].any() or support[:, -1].any():
        return mask
    mask[r0:r1, c0:c1] = support
    return mask


def standoff_cells(grid: PlanningGrid, candidate: Candidate, config: StandoffConfig = StandoffConfig(),
                   free: np.ndarray | None = None, need_view: bool = True,
                   camera_z: float | None = None) -> np.ndarray:
    """(H, W) bool: free cells between ``min_m`` and ``max_m`` from the candidate's footprint from which
    (with ``need_view``) the straight line to its centroid crosses no occupied cell outside its box
    (so it is in view) but, with the camera height ``camera_z`` (world z, metres), those of the
    support it stands on (``support_cells``)."""
    free = grid.free() if free is None else free
    pad = int(np.ceil(config.max_m / grid.cell_m)) + 2
    r_lo, c_lo = grid.cell(np.asarray(candidate.bbox_min[:2]))
    r_hi, c_hi = grid.cell(np.asarray(candidate.bbox_max[:2]))
    r0, r1 = max(0, r_lo - pad), min(grid.shape[0], r_hi + pad + 1)
    c0, c1 = max(0, c_lo - pad), min(grid.shape[1], c_hi + pad + 1)
    mask = np.zeros(grid.shape, bool)
    if r1 <= r0 or c1 <= c0:
        return mask
    rows, cols = np.nonzero(free[r0:r1, c0:c1])
    rows, cols = rows + r0, cols + c0
    centers = grid.center(rows, cols)
    d = box_distance(centers, candidate.bbox_min, candidate.bbox_max)
    keep = (d >= config.min_m) & (d <= config.max_m)
    rows, cols, centers = rows[keep], cols[keep], centers[keep]
    if not need_view or not len(rows):
        mask[rows, cols] = True
        return mask
    target = np.asarray(candidate.centroid[:2], float)
    n = int(np.ceil(config.max_m / grid.cell_m * 2)) + 4
    t = np.linspace(0.0, 1.0, n)[None, :, None]
    samples = centers[:, None, :] + t * (target - centers)[:, None, :]  # (M, n, 2)
    sr = np.floor(samples[..., 1] / grid.cell_m).astype(np.int64) - grid.row0
    sc = np.floor(samples[..., 0] / grid.cell_m).astype(np.int64) - grid.col0
    sr, sc = np.clip(sr, 0, grid.shape[0] - 1), np.clip(sc, 0, grid.shape[1] - 1)
    own = box_distance(samples, candidate.bbox_min, candidate.bbox_max) <= grid.cell_m * 1.5
    blocked = (grid.blocked() & ~support_cells(grid, candidate, camera_z, config))[sr, sc] & ~own
    visible = ~blocked.any(axis=1)
    mask[rows[visible], cols[visible]] = True
    return mask
