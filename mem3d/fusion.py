"""Integration: fuse a feature frame's points into the voxels they fall in.

Work is proportional to the frame: points are grouped per voxel once (a sort of N keys), features are
summed with one sparse (voxels x palette) product, and only the touched voxels are read and written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mem3d import voxel_keys
from mem3d.feature_codec import normalize_rows
from mem3d.feature_index import FeatureCodebook
from mem3d.types import FeatureFrame
from mem3d.voxel_grid import VoxelGrid


@dataclass
class FrameVoxels:
    """A frame's points grouped by voxel; U = number of distinct voxels hit."""

    coords: np.ndarray
    """(U, 3) int64 voxel coordinates."""
    count: np.ndarray
    """(U,) float32 points per voxel."""
    position_sum: np.ndarray
    """(U, 3) float64 sum of point positions, metres."""
    color_sum: np.ndarray
    """(U, 3) float64 sum of point colours."""
    feature_sum: np.ndarray
    """(U, D) float32 sum of the points' unit features."""
    dominant: np.ndarray
    """(U,) int64 palette row that contributed most points to each voxel."""


def group_by_voxel(frame: FeatureFrame, palette: np.ndarray, voxel_size: float) -> FrameVoxels:
    """Group the frame's points by voxel; ``palette`` is the frame's features as unit float32 rows."""
    coords = voxel_keys.voxel_coords(frame.points, voxel_size)
    keys = voxel_keys.pack(coords)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    n_voxels = first.shape[0]
    count = np.bincount(inverse, minlength=n_voxels)
    sums = [np.bincount(inverse, weights=frame.points[:, a], minlength=n_voxels) for a in range(3)]
    colors = [np.bincount(inverse, weights=frame.colors[:, a], minlength=n_voxels) for a in range(3)]
    membership = sp.csr_matrix(
        (np.ones(inverse.shape[0], dtype=np.float32), (inverse, frame.feature_index)),
        shape=(n_voxels, palette.shape[0]))
    membership.sum_duplicates()
    dominant = _row_argmax(membership)
    return FrameVoxels(coords[first], count.astype(np.float32), np.stack(sums, axis=1),
                       np.stack(colors, axis=1), np.asarray(membership @ palette, dtype=np.float32),
                       dominant)


def _row_argmax(matrix: sp.csr_matrix) -> np.ndarray:
    """Column of the largest entry of each (non-empty) row of a CSR matrix, vectorised."""
    row_ids = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    order = np.lexsort((-matrix.data, row_ids))
    return matrix.indices[order[matrix.indptr[:-1]]].astype(np.int64)


@dataclass(frozen=True)
class FusionResult:
    added: np.ndarray
    """Keys of voxels created by this frame."""
    updated: np.ndarray
    """Keys of existing voxels this frame observed again."""


def fuse(grid: VoxelGrid, codebook: FeatureCodebook, frame_voxels: FrameVoxels, palette_codes: np.ndarray,
         stamp: float, obs_id: int, max_weight: float) -> FusionResult:
    """Blend grouped points into the grid with weighted running means (old weight capped at ``max_weight``).

    ``palette_codes`` are the codebook codes of the frame's palette rows (``FeatureCodebook.learn``).
    """
    fv = frame_voxels
    slots = grid.lookup(fv.coords)
    is_new = slots < 0
    slots[is_new] = grid.add(fv.coords[is_new])
    store = grid.store
    seen = ~is_new
    old_weight = np.minimum(store.weight[slots], max_weight)  # zero for new voxels

    blend = old_weight / (old_weight + fv.count)
    position = fv.position_sum / fv.count[:, None]
    position += (store.position[slots] - position) * blend[:, None]
    store.position[slots] = position
    color = fv.color_sum / fv.count[:, None]
    color += (store.color[slots] - color) * blend[:, None]
    store.color[slots] = np.clip(np.rint(color), 0, 255)
    store.weight[slots] = np.minimum(old_weight + fv.count, max_weight)

    rounded, scales = _blend_features(store, slots, old_weight, fv.feature_sum)
    _assign_codes(store, codebook, slots, seen, rounded, scales, palette_codes[fv.dominant])

    store.first_seen[slots[is_new]] = stamp
    store.first_seen[slots[seen]] = np.minimum(store.first_seen[slots[seen]], stamp)
    newest = is_new | (store.last_seen[slots] <= stamp)
    store.last_seen[slots[newest]] = stamp
    store.last_obs_id[slots[newest]] = obs_id
    keys = store.key[slots]
    return FusionResult(added=keys[is_new], updated=keys[seen])


def _blend_features(store, slots: np.ndarray, old_weight: np.ndarray,
                    feature_sum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stored feature x old weight + new features -> stored again as int8 with a scale per row.

    Returns the stored int8 values as float32 rows and their scales (the stored feature is their
    product). The steps are written for the fewest passes over the (V, D) block: this is the
    hottest loop of integration.
    """
    fused = store.feature[slots].astype(np.float32)  # new voxels hold zeros
    fused *= (store.feature_scale[slots] * old_weight)[:, None]
    fused += feature_sum
    norms = np.sqrt(np.einsum("ij,ij->i", fused, fused))
    peaks = np.maximum(fused.max(axis=1), -fused.min(axis=1))
    peaks[peaks == 0] = 1.0
    fused *= (127.0 / peaks)[:, None]
    np.rint(fused, out=fused)
    scales = (peaks / (127.0 * norms)).astype(np.float32)
    store.feature[slots] = fused.astype(np.int8)
    store.feature_scale[slots] = scales
    return fused, scales


def _assign_codes(store, codebook: FeatureCodebook, slots: np.ndarray, seen: np.ndarray,
                  rounded: np.ndarray, scales: np.ndarray, dominant_codes: np.ndarray) -> None:
    """Give each voxel the better of its current code and its dominant palette feature's code.

    Residuals are exact for the stored features (``rounded`` x ``scales``), so query bounds hold.
    """
    codes = np.where(seen, store.code[slots], dominant_codes).astype(np.int32)
    squared_norms = np.einsum("ij,ij->i", rounded, rounded) * scales**2
    residuals = codebook.stored_residuals(rounded, scales, squared_norms, codes)
    differs = np.flatnonzero(codes != dominant_codes)
    if differs.size:
        alternative = dominant_codes[differs].astype(np.int32)
        alt_residuals = codebook.stored_residuals(rounded[differs], scales[differs], squared_norms[differs],
                                                  alternative)
        better = alt_residuals < residuals[differs]
        codes[differs[better]] = alternative[better]
        residuals[differs[better]] = alt_residuals[better]
    store.code[slots] = codes
    store.residual[slots] = residuals


def unit_palette(frame: FeatureFrame) -> np.ndarray:
    """The frame's feature palette as exactly unit float32 rows."""
    return normalize_rows(np.array(frame.features, dtype=np.float32))
