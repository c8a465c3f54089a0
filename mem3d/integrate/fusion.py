"""Integration: fuse a feature frame's points into the voxels they fall in.

Work is proportional to the frame: points are grouped per voxel once (a sort of N keys), features are
summed with one sparse (voxels x palette) product, and only the touched voxels are read and written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mem3d.errors import InvalidInputError
from mem3d.map import keys as voxel_keys
from mem3d.map.codebook import FeatureCodebook
from mem3d.map.codec import normalize_rows, quantize_into
from mem3d.map.grid import VoxelGrid
from mem3d.map.row_kernels import add_product, add_scaled_rows, scale_rows
from mem3d.types import FeatureFrame


@dataclass
class FrameVoxels:
    """A frame's points grouped by voxel; U = number of distinct voxels hit, E = distinct (voxel,
    palette row) pairs among its points. The pairs form a sparse (U, K) matrix of point counts in CSR
    form (``indptr``, ``rows``, ``points``): sorted by voxel, then by row."""

    coords: np.ndarray
    """(U, 3) int64 voxel coordinates."""
    count: np.ndarray
    """(U,) float32 points per voxel."""
    position_sum: np.ndarray
    """(U, 3) float64 sum of point positions, metres."""
    color_sum: np.ndarray
    """(U, 3) float64 sum of point colours."""
    indptr: np.ndarray
    """(U + 1,) int64: voxel u's pairs are [indptr[u], indptr[u + 1])."""
    rows: np.ndarray
    """(E,) int32 palette row of each pair."""
    points: np.ndarray
    """(E,) float32 number of the voxel's points that carry that palette row."""
    palette: np.ndarray
    """(K, D) float32 unit features of the frame."""
    dominant: np.ndarray
    """(U,) int64 palette row that contributed most points to each voxel (the lowest row on ties)."""

    def feature_sums(self, voxels: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Each voxel's sum of its points' palette features, for the voxels at the given indices, into
        ``out`` ((len(voxels), D) float32). A voxel holds points of one to a few palette rows: the
        sparse product costs pairs x D whatever K, where a dense one would cost U x K x D (4x slower
        at a ViT's K = 140)."""
        return self.pairs_of(voxels).sums_into(0, voxels.size, self.palette, out)

    def repeated_pairs(self, voxels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Among the voxels at the given indices, those holding a single (palette row, points) pair that
        an earlier one of them holds too: their positions in ``voxels``, and that earlier one's. New
        voxels' features depend on nothing else, so such a voxel's come out as the earlier one's."""
        single = np.flatnonzero(self.indptr[voxels + 1] - self.indptr[voxels] == 1)
        first = self.indptr[voxels[single]]
        pair_keys = (self.rows[first].astype(np.int64) << 32) | self.points[first].astype(np.int64)
        _, first_of, inverse = np.unique(pair_keys, return_index=True, return_inverse=True)
        original = first_of[inverse]
        repeated = original != np.arange(single.size)
        return single[repeated], single[original[repeated]]

    def pairs_of(self, voxels: np.ndarray) -> VoxelPairs:
        """The pairs of the voxels at the given indices, in that order (gathered once per frame, so
        that each chunk of them is a slice)."""
        lengths = self.indptr[voxels + 1] - self.indptr[voxels]
        indptr = np.zeros(voxels.size + 1, dtype=np.int32)
        np.cumsum(lengths, out=indptr[1:])
        pairs = np.repeat(self.indptr[voxels] - indptr[:-1], lengths) + np.arange(indptr[-1])
        return VoxelPairs(indptr, self.rows[pairs], self.points[pairs])


@dataclass(frozen=True)
class VoxelPairs:
    """The (voxel, palette row) pairs of some voxels in a chosen order, as CSR rows with int32 offsets
    (what scipy's kernel takes): voxel i's pairs are [indptr[i], indptr[i + 1])."""

    indptr: np.ndarray
    """(n + 1,) int32."""
    rows: np.ndarray
    """int32 palette row of each pair."""
    points: np.ndarray
    """float32 points of each pair."""

    def sums_into(self, lo: int, hi: int, palette: np.ndarray, out: np.ndarray) -> np.ndarray:
        """The feature sums of voxels [lo, hi) of this order into ``out`` ((hi - lo, D) float32)."""
        out.fill(0.0)
        add_product(self.indptr[lo:hi + 1], self.rows, self.points, palette, out)
        return out


def group_by_voxel(frame: FeatureFrame, palette: np.ndarray, voxel_size: float) -> FrameVoxels:
    """Group the frame's points by voxel; ``palette`` is the frame's features as unit float32 rows."""
    coords = voxel_keys.voxel_coords(frame.points, voxel_size)
    keys = voxel_keys.pack(coords)
    _, one, voxel_of_point = voxel_keys.group(keys)
    n_voxels = one.size
    count = np.bincount(voxel_of_point, minlength=n_voxels)
    # bincount adds each voxel's points in frame order
    position_sum = np.stack([np.bincount(voxel_of_point, frame.points[:, a], n_voxels) for a in range(3)], axis=1)
    color_sum = np.stack([np.bincount(voxel_of_point, frame.colors[:, a], n_voxels) for a in range(3)], axis=1)
    n_rows = palette.shape[0]
    pairs, points = np.unique(voxel_of_point * n_rows + frame.feature_index, return_counts=True)
    pair_voxel = pairs // n_rows
    indptr = np.zeros(n_voxels + 1, dtype=np.int64)
    np.cumsum(np.bincount(pair_voxel, minlength=n_voxels), out=indptr[1:])
    rows = (pairs - pair_voxel * n_rows).astype(np.int32)
    most = np.maximum.reduceat(points, indptr[:-1])
    top = np.flatnonzero(points == most[pair_voxel])  # sorted: the first of each voxel has the lowest row
    first_top = top[np.concatenate(([True], pair_voxel[top[1:]] != pair_voxel[top[:-1]]))]
    return FrameVoxels(coords[one], count.astype(np.float32), position_sum, color_sum, indptr, rows,
                       points.astype(np.float32), palette, rows[first_top].astype(np.int64))


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
    slots, is_new = grid.lookup_or_add(fv.coords)
    store = grid.store
    store.mark_changed(slots)  # every row below is written
    seen = ~is_new
    old_weight = np.minimum(store.weight[slots], config.max_weight)  # zero for new voxels
    contradicted = np.zeros(slots.size, dtype=bool)
    dominant_codes = palette_codes[fv.dominant]
    # Voxels the map held first: only they blend with a stored feature. A new voxel that holds a single
    # (palette row, points) pair which an earlier new voxel holds too gets that voxel's feature, scale,
    # code and slack: they are computed once. Every step works row by row, so neither the order nor
    # the chunks change any result.
    held, new = np.flatnonzero(seen), np.flatnonzero(is_new)
    repeats, originals = fv.repeated_pairs(new)
    computed = np.delete(new, repeats)
    pairs = fv.pairs_of(np.concatenate([held, computed]))
    dim = store.feature_dim
    for lo in range(0, held.size, CHUNK_ROWS):  # cache-sized chunks: every pass stays in cache
        voxels = held[lo:lo + CHUNK_ROWS]
        chunk_slots = slots[voxels]
        fused = pairs.sums_into(lo, lo + voxels.size, fv.palette, workspace.get("fused", voxels.size, dim, np.float32))
        codes = store.code[chunk_slots]
        weight = old_weight[voxels]
        conflict = _blend_held(store, chunk_slots, weight, fv.count[voxels], fused,
                               np.flatnonzero(codes != dominant_codes[voxels]), config, workspace)
        old_weight[voxels] = weight  # discounted where contradicted
        contradicted[voxels[conflict]] = True
        _store_features(store, codebook, chunk_slots, fused, codes, dominant_codes[voxels], workspace)
    for lo in range(0, computed.size, CHUNK_ROWS):
        voxels = computed[lo:lo + CHUNK_ROWS]
        fused = pairs.sums_into(held.size + lo, held.size + lo + voxels.size, fv.palette,
                                workspace.get("fused", voxels.size, dim, np.float32))
        codes = dominant_codes[voxels]
        _store_features(store, codebook, slots[voxels], fused, codes, codes, workspace)
    for name in ("feature", "feature_scale", "code", "bound_slack"):
        column = store.array(name)
        column[slots[new[repeats]]] = column[slots[new[originals]]]

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
    store.note_search_bounds(slots)  # once for every chunk's codes
    keys = store.key[slots]
    return FusionResult(added=keys[is_new], updated=keys[seen], contradicted=keys[contradicted])


CHUNK_ROWS = 256
"""Voxels blended at a time: their few float32 (CHUNK_ROWS, D) buffers fit in a core's L2 cache, so
the dozen passes over them hit it."""


def _store_features(store, codebook: FeatureCodebook, slots: np.ndarray, fused: np.ndarray, codes: np.ndarray,
                    dominant_codes: np.ndarray, workspace: Workspace) -> None:
    """Quantize the fused feature sums (changed in place) into the rows at ``slots`` and give them codes
    and slacks (``_assign_codes``)."""
    n, dim = slots.size, store.feature_dim
    stored = workspace.get("stored", n, dim, np.int8)
    scales = quantize_into(fused, stored, workspace.get("held", n, dim, np.float32))
    store.feature[slots] = stored
    store.feature_scale[slots] = scales
    _assign_codes(store, codebook, slots, codes, fused, scales, dominant_codes,
                  workspace.get("centroids", n, dim, np.float32))


def _blend_held(store, slots: np.ndarray, old_weight: np.ndarray, count: np.ndarray, fused: np.ndarray,
                suspects: np.ndarray, config: FusionConfig, workspace: Workspace) -> np.ndarray:
    """``fused`` (the frame's feature sums for voxels the map holds at ``slots``) += stored feature x
    old weight, in place; returns the rows whose stored feature the frame contradicts.

    There ``old_weight`` (this chunk's copy, changed in place) is discounted first. Only ``suspects``
    are checked: voxels whose dominant new feature belongs to another centroid than their own (two
    features within 0.5 of one centroid have a cosine of at least 0.5, so they cannot contradict).
    Written for the fewest passes over the (V, D) block, in reused buffers: the hottest loop of
    integration.
    """
    n, dim = slots.size, store.feature_dim
    stored = workspace.get("stored", n, dim, np.int8)
    held = workspace.get("held", n, dim, np.float32)
    np.take(store.feature, slots, axis=0, out=stored, mode="clip")  # valid slots; "raise" would buffer
    np.copyto(held, stored)  # exact; then a float32 product, faster than a mixed int8 x float32 one
    scale_rows(held, store.feature_scale[slots])  # the unit features held
    conflict = np.empty(0, dtype=np.int64)
    if config.contradict_below is not None and suspects.size:
        agreement = _agreement(held[suspects], fused[suspects])
        conflict = suspects[agreement < config.contradict_below]
        old_weight[conflict] = np.minimum(old_weight[conflict], config.contradicted_keep * count[conflict])
    add_scaled_rows(fused, old_weight, held)
    return conflict


def _agreement(held: np.ndarray, new_sum: np.ndarray) -> np.ndarray:
    """Cosine between each held unit feature and the sum (so also the mean) of the frame's features."""
    dots = np.einsum("ij,ij->i", held, new_sum)
    squared = np.einsum("ij,ij->i", new_sum, new_sum)
    return dots / np.sqrt(np.maximum(squared, 1e-12))


def _row_dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dot product of each row pair: ``np.vecdot`` (numpy >= 2.0, twice as fast as einsum) or einsum."""
    return np.vecdot(a, b) if hasattr(np, "vecdot") else np.einsum("ij,ij->i", a, b)


def _assign_codes(store, codebook: FeatureCodebook, slots: np.ndarray, codes: np.ndarray,
                  rounded: np.ndarray, scales: np.ndarray, dominant_codes: np.ndarray,
                  centroid_buffer: np.ndarray) -> None:
    """Keep each voxel's code (``codes``: what the voxels at ``slots`` hold, or for new ones their
    dominant code) while its residual is small; otherwise try its dominant palette code.

    Residuals are exact for the stored features (``rounded`` x ``scales``), so query bounds hold.
    """
    codes = codes.astype(np.int32)  # a copy: changed below
    # sums of integer squares, below 2^24 for D <= 1040: exact in float32 in any order (the fastest product)
    squared_norms = _row_dots(rounded, rounded) * scales**2
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
