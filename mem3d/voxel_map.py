"""The dynamic sparse voxel map: integrate feature frames, carve free space, localize concepts.

``VoxelMap`` is a thin facade over small modules that each do one job: ``voxel_grid`` (storage and
spatial hash), ``fusion`` (integration), ``carving`` (free-space removal), ``feature_index`` (exact
search), ``localization`` (clusters and ranking) and ``eviction`` (the voxel budget).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mem3d.errors import InvalidInputError, SchemaMismatchError
from mem3d.integrate import carving, fusion
from mem3d.integrate.carving import CarveConfig
from mem3d.integrate.eviction import select_evictions
from mem3d.integrate.fusion import FusionConfig
from mem3d.map import keys as voxel_keys
from mem3d.map.codec import dequantize_rows
from mem3d.map.grid import VoxelGrid
from mem3d.query.feature_index import FeatureCodebook, IndexConfig
from mem3d.query.localization import LocalizeConfig, check_query, localize
from mem3d.types import CameraIntrinsics, FeatureFrame, LocalizeResult, MapUpdate
from mem3d.validation import require_array, require_finite, require_rigid_pose

SCHEMA_VERSION = 2
"""Version of the stored map format (2: checkpoint metadata carries its own checksum)."""


@dataclass(frozen=True)
class MapConfig:
    """Everything fixed when a map is created, plus the tuning of its algorithms."""

    feature_dim: int = 512
    """D of the feature vectors (CLIP ViT-B/32: 512, MiniLM: 384)."""
    voxel_size: float = 0.05
    """Voxel edge, metres."""
    feature_model: str = ""
    """Encoder name; when set, frames made by another encoder are refused."""
    max_voxels: int | None = None
    """Voxel budget (None = unbounded); see ``mem3d.integrate.eviction`` for the policy."""
    eviction_low_water: float = 0.95
    """Eviction brings the map down to this fraction of the budget."""
    fusion: FusionConfig = field(default_factory=FusionConfig)
    carve: CarveConfig = field(default_factory=CarveConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    localize: LocalizeConfig = field(default_factory=LocalizeConfig)

    def __post_init__(self) -> None:
        if int(self.feature_dim) < 1:
            raise InvalidInputError(f"feature_dim must be positive, got {self.feature_dim}")
        if not (np.isfinite(self.voxel_size) and self.voxel_size > 0):
            raise InvalidInputError(f"voxel_size must be a positive number of metres, got {self.voxel_size}")
        if self.max_voxels is not None and self.max_voxels < 1:
            raise InvalidInputError(f"max_voxels must be positive or None, got {self.max_voxels}")
        if not 0.0 < self.eviction_low_water <= 1.0:
            raise InvalidInputError(f"eviction_low_water must be in (0, 1], got {self.eviction_low_water}")


@dataclass(frozen=True)
class VoxelData:
    """A copy of the live voxels, for inspection, export and tests (world frame, metres, seconds)."""

    keys: np.ndarray          # (V,) int64
    positions: np.ndarray     # (V, 3) float32 weighted mean of the fused points
    colors: np.ndarray        # (V, 3) uint8
    weights: np.ndarray       # (V,) float32
    features: np.ndarray      # (V, D) float32, unit rows
    first_seen: np.ndarray    # (V,) float64
    last_seen: np.ndarray     # (V,) float64
    last_obs_id: np.ndarray   # (V,) int64


class VoxelMap:
    """A sparse voxel map with fused open-vocabulary features that follows a changing world."""

    def __init__(self, config: MapConfig | None = None) -> None:
        self.config = config or MapConfig()
        self.grid = VoxelGrid(self.config.voxel_size, self.config.feature_dim)
        self.codebook = FeatureCodebook(self.config.feature_dim, self.config.index)
        self._workspace = fusion.Workspace()

    def __len__(self) -> int:
        return len(self.grid)

    @property
    def voxel_size(self) -> float:
        return self.config.voxel_size

    @property
    def feature_dim(self) -> int:
        return self.config.feature_dim

    def update(self, frame: FeatureFrame, *, carve: bool = True) -> MapUpdate:
        """Carve the free space the frame's depth shows (if any and ``carve``), then integrate its points.

        Raises ``InvalidInputError`` / ``SchemaMismatchError`` before changing anything.
        """
        self._check_frame(frame)
        palette = fusion.unit_palette(frame)
        frame_voxels = fusion.group_by_voxel(frame, palette, self.voxel_size) if frame.n_points else None
        removed = np.empty(0, dtype=np.int64)
        if carve and frame.depth is not None:
            removed = self.grid.remove(carving.carve(self.grid, frame.depth, frame.intrinsics,
                                                     frame.T_world_camera, self.config.carve))
        if frame.n_points == 0:
            none = np.empty(0, dtype=np.int64)
            return MapUpdate(frame.obs_id, frame.stamp, none, none, removed, none)
        result = fusion.fuse(self.grid, self.codebook, frame_voxels, self.codebook.learn(palette),
                             frame.stamp, frame.obs_id, self.config.fusion, self._workspace)
        evicted = self._enforce_budget()
        return MapUpdate(frame.obs_id, frame.stamp, result.added, result.updated, removed, evicted,
                         result.contradicted)

    def integrate(self, frame: FeatureFrame) -> MapUpdate:
        """Fuse the frame's points without carving (its depth, if any, is ignored)."""
        return self.update(frame, carve=False)

    def carve(self, depth: np.ndarray, intrinsics: CameraIntrinsics, T_world_camera: np.ndarray,  # noqa: N803
              stamp: float = 0.0, obs_id: int = -1) -> MapUpdate:
        """Remove the voxels that a sanitised z-depth image (metres, 0 = missing) shows to be free."""
        require_array("depth", depth, shape=(intrinsics.height, intrinsics.width), dtypes=(np.float32,))
        require_finite("depth", depth)
        if (depth < 0).any():
            raise InvalidInputError("depth must be >= 0 metres (0 = no measurement)")
        require_rigid_pose("T_world_camera", T_world_camera)
        removed = self.grid.remove(carving.carve(self.grid, depth, intrinsics, T_world_camera,
                                                 self.config.carve))
        none = np.empty(0, dtype=np.int64)
        return MapUpdate(obs_id, stamp, none, none, removed, none)

    def localize(self, query: np.ndarray, top_k: int = 5, threshold: float | None = None) -> LocalizeResult:
        """Ranked candidates for a query embedding (D,), best first; empty means "not found"."""
        unit_query = check_query(query, self.feature_dim)
        config = self.config.localize
        if threshold is not None:
            if not -1.0 <= threshold <= 1.0:
                raise InvalidInputError(f"threshold must be a cosine similarity in [-1, 1], got {threshold}")
            config = LocalizeConfig(threshold, config.min_cluster_voxels, config.score_voxels)
        return localize(self.grid, self.codebook, unit_query, top_k, config)

    def voxels(self) -> VoxelData:
        """A copy of all live voxels."""
        s = self.grid.store
        n = s.n
        return VoxelData(s.key[:n].copy(), s.position[:n].copy(), s.color[:n].copy(), s.weight[:n].copy(),
                         dequantize_rows(s.feature[:n], s.feature_scale[:n]), s.first_seen[:n].copy(),
                         s.last_seen[:n].copy(), s.last_obs_id[:n].copy())

    def voxel_centers(self, keys: np.ndarray) -> np.ndarray:
        """(N, 3) centres of voxels given by key, world metres."""
        return voxel_keys.centers(keys, self.voxel_size)

    def nbytes(self) -> int:
        """Bytes the map holds (arrays with their spare capacity, hash tables, codebook)."""
        return self.grid.nbytes() + self.codebook.centroids.nbytes

    def check(self, frame: FeatureFrame) -> None:
        """Raise exactly the error ``update(frame)`` would raise, without changing anything."""
        self._check_frame(frame)
        voxel_keys.voxel_coords(frame.points, self.voxel_size)  # the map's coordinate range

    def _check_frame(self, frame: FeatureFrame) -> None:
        if not isinstance(frame, FeatureFrame):
            raise InvalidInputError(f"expected a FeatureFrame, got {type(frame).__name__}")
        frame.validate(self.feature_dim)
        model = self.config.feature_model
        if model and frame.feature_model != model:
            raise SchemaMismatchError(
                f"frame features come from {frame.feature_model or 'an unnamed model'!r}, "
                f"this map holds {model!r} features")

    def _enforce_budget(self) -> np.ndarray:
        if self.config.max_voxels is None:
            return np.empty(0, dtype=np.int64)
        slots = select_evictions(self.grid.store.last_seen[: len(self)], self.config.max_voxels,
                                 self.config.eviction_low_water)
        return self.grid.remove(slots)
