"""Integration: fuse a feature frame's points into the voxels they fall in.

Work is proportional to the frame: points are grouped per voxel once (a sort of N keys), features are
summed with one sparse (voxels x palette) product, and only the touched voxels are read and written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mem3d.errors import InvalidInputError
from mem3d.map import keys as voxel_keys
from mem3d.map.codebook import FeatureCodebook
from mem3d.map.codec import normalize_rows, quantize_into
from mem3d.map.grid import VoxelGrid
from mem3d.types import FeatureFrame


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
    membership: sp.csr_matrix
    """(U, K) float32 count of each voxel's points per palette row."""
    palette: np.ndarray
    """(K, D) float32 unit features of the frame."""
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
                       np.stack(colors, axis=1), membership, palette, dominant)


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
    contradicted: np.ndarray
    """Keys of updated voxels whose content the frame contradicted (``FusionConfig.contradict_below``)."""


class Workspace:
    """Scratch buffers reused by every frame: the (V, D) blocks of fusion are large, and allocating
    them afresh each frame costs page faults that rival the arithmetic."""

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}

    def get(self, name: str, rows: int, cols: int, dtype: type) -> np.ndarray:
        buffer = self._buffers.get(name)
        if buffer is None or buffer.shape[0] < rows or buffer.shape[1] != cols:
            buffer = np.empty((max(rows, 1024, 0 if buffer is None else 2 * buffer.shape[0]), cols), dtype)
            self._buffers[name] = buffer
        return buffer[:rows]


@dataclass(frozen=True)
class FusionConfig:
    """How new observations blend with what a voxel holds."""

    max_weight: float = 32.0
    """Cap on a voxel's fused weight (points), so that it keeps following changes."""
    contradict_below: float | None = 0.5
    """When the features a frame brings to a voxel have a cosine below this with the voxel's feature,
    the frame contradicts it (something else may stand there now): the old evidence then weighs at
    most ``contradicted_keep`` times the new, so a replaced object takes over at once, while a voxel
    on the border of two objects stays a mix. None = plain running means. Calibrate per encoder:
    labels of unrelated things have cosines around 0.3 with MiniLM."""
    contradicted_keep: float = 0.25

    def __post_init__(self) -> None:
        if self.max_weight <= 0:
            raise InvalidInputError(f"max_weight must be positive, got {self.max_weight}")
        if self.contradict_below is not None and not -1.0 <= self.contradict_below <= 1.0:
            raise InvalidInputError(f"contradict_below must be a cosine in [-1, 1], got {self.contradict_below}")
        if self.contradicted_keep < 0:
            raise InvalidInputError(f"contradicted_keep must be >= 0, got {self.contradicted_keep}")


def fuse(grid: VoxelGrid, codebook: FeatureCodebook, frame_voxels: FrameVoxels, palette_codes: np.ndarray,
         stamp: float, obs_id: int, config: FusionConfig, workspace: Workspace) -> FusionResult:
    """Blend grouped points into the grid with weighted running means (see ``FusionConfig``).

    ``palette_codes`` are the codebook codes of the frame's palette rows (``FeatureCodebook.learn``).
    """
    fv = frame_voxels
    slots = grid.lookup(fv.coords)
    is_new = slots < 0
    slots[is_new] = grid.add(fv.coords[is_new])
    store = grid.store
    store.mark_changed(slots)  # every row below is written
    seen = ~is_new
    old_weight = np.minimum(store.weight[slots], config.max_weight)  # zero for new voxels
    contradicted = np.zeros(slots.size, dtype=bool)

    dominant_codes = palette_codes[fv.dominant]
    membership = fv.membership
    for lo in range(0, slots.size, CHUNK_ROWS):  # cache-sized chunks: every pass stays in cache
        rows = slice(lo, min(slots.size, lo + CHUNK_ROWS))
        suspects = np.flatnonzero(seen[rows] & (store.code[slots[rows]] != dominant_codes[rows]))
        rounded, scales = _blend_features(store, slots[rows], old_weight[rows], contradicted[rows], suspects,
                                          fv.count[rows], membership[rows], fv.palette, config, workspace)
        _assign_codes(store, codebook, slots[rows], seen[rows], rounded, scales, dominant_codes[rows],
                      workspace.get("centroids", rounded.shape[0], store.feature_dim, np.float32))

    blend = old_weight / (old_weight + fv.count)  # old_weight is discounted where contradicted
    position = fv.position_sum / fv.count[:, None]
    position += (store.position[slots] - position) * blend[:, None]
    store.position[slots] = position
    color = fv.color_sum / fv.count[:, None]
    color += (store.color[slots] - color) * blend[:, None]
    store.color[slots] = np.clip(np.rint(color), 0, 255)
    store.weight[slots] = np.minimum(old_weight + fv.count, config.max_weight)

    store.first_seen[slots[is_new]] = stamp
    store.first_seen[slots[seen]] = np.minimum(store.first_seen[slots[seen]], stamp)
    newest = is_new | (store.last_seen[slots] <= stamp)
    store.last_seen[slots[newest]] = stamp
    store.last_obs_id[slots[newest]] = obs_id
    keys = store.key[slots]
    return FusionResult(added=keys[is_new], updated=keys[seen], contradicted=keys[contradicted])


CHUNK_ROWS = 1024
"""Voxels blended at a time: a few MB of float32 rows, so the dozen passes over them hit the cache."""


def _blend_features(store, slots: np.ndarray, old_weight: np.ndarray, contradicted: np.ndarray,
                    suspects: np.ndarray, count: np.ndarray, membership, palette: np.ndarray, config: FusionConfig,
                    workspace: Workspace) -> tuple[np.ndarray, np.ndarray]:
    """Stored feature x old weight + the frame's feature sum -> stored again as int8 with a scale.

    Where the new features contradict the stored one, ``old_weight`` is discounted and
    ``contradicted`` set (both arrays are this chunk's views, changed in place). Only ``suspects`` are
    checked: voxels whose dominant new feature belongs to another centroid than their own (two
    features within 0.5 of one centroid have a cosine of at least 0.5, so they cannot contradict). Returns the stored
    int8 values as float32 rows and their scales (the stored feature is their product). Written for
    the fewest passes over the (V, D) block, in reused buffers: the hottest loop of integration.
    """
    n, dim = slots.size, store.feature_dim
    fused = workspace.get("fused", n, dim, np.float32)
    scratch = workspace.get("scratch", n, dim, np.float32)
    stored = workspace.get("stored", n, dim, np.int8)
    # A voxel holds points of one to a few palette rows: the sparse product costs nnz x D whatever
    # the palette size K, where a dense one would cost V x K x D (4x slower at a ViT's K = 140).
    fused[:] = membership @ palette
    if old_weight.any():  # else every voxel is new (a map growing into new space): nothing to blend
        np.take(store.feature, slots, axis=0, out=stored, mode="clip")  # valid slots; "raise" would buffer
        np.multiply(stored, store.feature_scale[slots][:, None], out=scratch)  # the unit features held
        if config.contradict_below is not None and suspects.size:
            agreement = _agreement(scratch[suspects], fused[suspects])
            conflict = suspects[agreement < config.contradict_below]
            old_weight[conflict] = np.minimum(old_weight[conflict], config.contradicted_keep * count[conflict])
            contradicted[conflict] = True
        scratch *= old_weight[:, None]
        fused += scratch
    scales = quantize_into(fused, stored)  # fused now holds the stored int8 values as floats
    store.feature[slots] = stored
    store.feature_scale[slots] = scales
    return fused, scales


def _agreement(held: np.ndarray, new_sum: np.ndarray) -> np.ndarray:
    """Cosine between each held unit feature and the sum (so also the mean) of the frame's features."""
    dots = np.einsum("ij,ij->i", held, new_sum)
    squared = np.einsum("ij,ij->i", new_sum, new_sum)
    return dots / np.sqrt(np.maximum(squared, 1e-12))


def _assign_codes(store, codebook: FeatureCodebook, slots: np.ndarray, seen: np.ndarray, rounded: np.ndarray,
                  scales: np.ndarray, dominant_codes: np.ndarray, centroid_buffer: np.ndarray) -> None:
    """Keep each voxel's code while its residual is small; otherwise try its dominant palette code.

    Residuals are exact for the stored features (``rounded`` x ``scales``), so query bounds hold.
    """
    codes = np.where(seen, store.code[slots], dominant_codes).astype(np.int32)
    squared_norms = np.einsum("ij,ij->i", rounded, rounded) * scales**2
    residuals = codebook.stored_residuals(rounded, scales, squared_norms, codes, centroid_buffer)
    retry = np.flatnonzero((codes != dominant_codes) & (residuals > codebook.config.new_centroid_residual))
    if retry.size:
        alternative = dominant_codes[retry].astype(np.int32)
        alt_residuals = codebook.stored_residuals(rounded[retry], scales[retry], squared_norms[retry],
                                                  alternative, centroid_buffer[: retry.size])
        better = alt_residuals < residuals[retry]
        codes[retry[better]] = alternative[better]
        residuals[retry[better]] = alt_residuals[better]
    store.code[slots] = codes
    store.bound_slack[slots] = codebook.slack(residuals, codes)


def unit_palette(frame: FeatureFrame) -> np.ndarray:
    """The frame's feature palette as exactly unit float32 rows."""
    return normalize_rows(np.array(frame.features, dtype=np.float32))
