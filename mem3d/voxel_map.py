"""The dynamic sparse voxel map: integrate feature frames, carve free space, localize concepts.

``VoxelMap`` is a thin facade over small modules that each do one job: ``map.grid`` (storage and
spatial hash), ``integrate.fusion`` (integration), ``integrate.carving`` (free-space removal),
``map.codebook`` (exact search), ``query.localization`` (clusters and ranking) and
``integrate.eviction`` (the voxel budget). Code outside the map sees its contents only through
``contents``, ``begin_snapshot``, ``restore`` and, for read replicas (``mem3d.service.replica``),
``track_changes`` / ``take_changes``.

The voxel columns are reserved once (``mem3d.map.store``): the map never copies them to grow.
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
from mem3d.map.codebook import FeatureCodebook, IndexConfig
from mem3d.map.codec import dequantize_rows
from mem3d.map.grid import VoxelGrid
from mem3d.query.localization import LocalizeConfig, check_query, localize, matching_voxels, with_threshold
from mem3d.query.terms import QueryTerms
from mem3d.types import CameraIntrinsics, FeatureFrame, LocalizeResult, MapUpdate
from mem3d.validation import require_array, require_finite, require_rigid_pose


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


@dataclass(frozen=True)
class MapContents:
    """Everything that rebuilds a map exactly (``VoxelMap.restore``): config, voxel columns, codebook."""

    config: MapConfig
    columns: dict[str, np.ndarray]
    """Column name (``mem3d.map.store.columns_for``) -> its rows for the V live voxels, as stored."""
    codebook: dict[str, np.ndarray]
    """The feature codebook's parts (``FeatureCodebook.state``)."""

    @property
    def n_voxels(self) -> int:
        return int(self.columns["key"].shape[0])


@dataclass(frozen=True)
class MapChanges:
    """What changed in a map since the previous ``VoxelMap.take_changes``, as copies: enough to bring a
    replica that matched the map then to the same voxels and search state (``mem3d.service.replica``)."""

    n_voxels: int
    """Live voxels now."""
    slots: np.ndarray
    """(M,) int64 sorted slots in [0, n_voxels) whose rows were written."""
    rows: dict[str, np.ndarray]
    """Column name -> its (M, ...) rows at ``slots``."""
    codebook: dict[str, np.ndarray] | None
    """The codebook's state if it changed (``FeatureCodebook.state``), else None."""


class MapSnapshot:
    """A copy of a map's contents detached from later changes, made a chunk of rows per ``step`` so
    that queries can run in between. The map must not change until ``step`` returns True; then
    ``contents`` holds the copy."""

    def __init__(self, voxel_map: VoxelMap) -> None:
        self._map = voxel_map
        self._columns = voxel_map.grid.store.copy_live()
        self.contents: MapContents | None = None

    def step(self) -> bool:
        """Copy the next chunk of rows; True once the copy is complete."""
        if self.contents is None and self._columns.step():
            codebook = {name: part.copy() for name, part in self._map.codebook.state().items()}
            self.contents = MapContents(self._map.config, self._columns.arrays, codebook)
        return self.contents is not None


class VoxelMap:
    """A sparse voxel map with fused open-vocabulary features that follows a changing world."""

    def __init__(self, config: MapConfig | None = None) -> None:
        self.config = config or MapConfig()
        self.grid = VoxelGrid(self.config.voxel_size, self.config.feature_dim)
        self.codebook = FeatureCodebook(self.config.feature_dim, self.config.index)
        self._workspace = fusion.Workspace()
        self._codebook_version_taken: int | None = None

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

    def carve(self, depth: np.ndarray, intrinsics: CameraIntrinsics, T_world_camera: np.ndarray,
              stamp: float = 0.0, obs_id: int = -1) -> MapUpdate:
        """Remove the voxels that a sanitised z-depth image (metres, 0 = missing) shows to be free."""
        require_array("depth", depth, shape=(intrinsics.height, intrinsics.width), dtypes=(np.float32,))
        require_finite("depth", depth)
        if (depth < 0).any():
            raise InvalidInputError("depth must be >= 0 metres (0 = no measurement)")
        require_rigid_pose("T_world_camera", T_world_camera)
        self._require_camera_in_range(T_world_camera)
        removed = self.grid.remove(carving.carve(self.grid, depth, intrinsics, T_world_camera,
                                                 self.config.carve))
        none = np.empty(0, dtype=np.int64)
        return MapUpdate(obs_id, stamp, none, none, removed, none)

    def localize(self, query: np.ndarray, top_k: int = 5, threshold: float | None = None,
                 terms: QueryTerms | None = None) -> LocalizeResult:
        """Ranked candidates for a query embedding (D,), best first; empty means "not found". ``terms``
        (head noun, colours: ``mem3d.query.terms.query_terms``) are checked when a text query has them."""
        unit_query = check_query(query, self.feature_dim)
        return localize(self.grid.store, self.voxel_size, self.codebook, unit_query, top_k,
                        with_threshold(self.config.localize, threshold), terms)

    def similarity(self, query: np.ndarray, at_least: float = -1.0) -> tuple[np.ndarray, np.ndarray]:
        """Exact cosine of a query embedding (D,) with every voxel scoring >= ``at_least``: (rows
        into ``voxels()``, scores), for pictures and exports (the codebook bound skips the others)."""
        return matching_voxels(self.grid.store, self.codebook, check_query(query, self.feature_dim), at_least)

    def voxels(self) -> VoxelData:
        """A copy of all live voxels."""
        live = self.grid.store.live_columns()
        return VoxelData(live["key"].copy(), live["position"].copy(), live["color"].copy(), live["weight"].copy(),
                         dequantize_rows(live["feature"], live["feature_scale"]), live["first_seen"].copy(),
                         live["last_seen"].copy(), live["last_obs_id"].copy())

    def contents(self) -> MapContents:
        """The map's contents as views of its arrays (nothing copied): valid until the map next changes."""
        return MapContents(self.config, self.grid.store.live_columns(), self.codebook.state())

    def begin_snapshot(self) -> MapSnapshot:
        """Start a detached copy of the contents, made by ``MapSnapshot.step`` calls."""
        return MapSnapshot(self)

    def track_changes(self) -> None:
        """Start remembering what changes, for ``take_changes`` (a replica copies ``contents`` now)."""
        self.grid.store.track_changes()
        self._codebook_version_taken = self.codebook.version

    def take_changes(self) -> MapChanges:
        """Copies of what changed since ``track_changes`` or the previous call."""
        store = self.grid.store
        slots = store.take_changed()
        rows = {c.name: store.array(c.name)[slots] for c in store.columns}
        codebook = None
        if self.codebook.version != self._codebook_version_taken:
            codebook = {name: part.copy() for name, part in self.codebook.state().items()}
            self._codebook_version_taken = self.codebook.version
        return MapChanges(store.n, slots, rows, codebook)

    @classmethod
    def restore(cls, contents: MapContents) -> VoxelMap:
        """A new map holding exactly ``contents`` (from ``contents`` or a snapshot, saved and loaded).

        Raises ``InvalidInputError`` if a voxel column or a codebook part is missing or misshapen.
        """
        voxel_map = cls(contents.config)
        store = voxel_map.grid.store
        missing = [c.name for c in store.columns if c.name not in contents.columns]
        missing += [f"codebook {part}" for part in FeatureCodebook.PARTS if part not in contents.codebook]
        if missing:
            raise InvalidInputError(f"the map contents lack {', '.join(missing)}")
        n = contents.n_voxels
        for column in store.columns:
            expected = (n, column.width) if column.width else (n,)
            if contents.columns[column.name].shape != expected:
                raise InvalidInputError(f"voxel column {column.name} has shape "
                                        f"{contents.columns[column.name].shape}, expected {expected}")
        slots = voxel_map.grid.add(voxel_keys.unpack(contents.columns["key"]))
        store.assign(store.n, slots, {c.name: contents.columns[c.name] for c in store.columns})
        voxel_map.codebook.restore(contents.codebook)
        return voxel_map

    def evict(self, slots: np.ndarray) -> np.ndarray:
        """Drop the voxels at ``slots`` (unique indices into the rows of ``contents``) for a budget kept
        outside the map (``mem3d.episodic.budget``); their keys."""
        return self.grid.remove(np.asarray(slots, dtype=np.int64))

    def voxel_centers(self, keys: np.ndarray) -> np.ndarray:
        """(N, 3) centres of voxels given by key, world metres."""
        return voxel_keys.centers(keys, self.voxel_size)

    def nbytes(self) -> int:
        """Bytes the map's arrays commit (the rows ever used: see ``mem3d.map.store``), with the hash
        tables and the codebook."""
        return self.grid.nbytes() + self.codebook.centroids.nbytes

    def check(self, frame: FeatureFrame) -> None:
        """Raise exactly the error ``update(frame)`` would raise, without changing anything."""
        self._check_frame(frame)
        voxel_keys.voxel_coords(frame.points, self.voxel_size)  # the map's coordinate range

    def _check_frame(self, frame: FeatureFrame) -> None:
        if not isinstance(frame, FeatureFrame):
            raise InvalidInputError(f"expected a FeatureFrame, got {type(frame).__name__}")
        frame.validate(self.feature_dim)
        self._require_camera_in_range(frame.T_world_camera)
        model = self.config.feature_model
        if model and frame.feature_model != model:
            raise SchemaMismatchError(
                f"frame features come from {frame.feature_model or 'an unnamed model'!r}, "
                f"this map holds {model!r} features")

    def _require_camera_in_range(self, T_world_camera: np.ndarray) -> None:
        """The camera position (metres) must lie within the map's range, like the points."""
        position, limit = T_world_camera[:3, 3], voxel_keys.AXIS_OFFSET * self.voxel_size
        if not ((position >= -limit) & (position < limit)).all():
            raise InvalidInputError(f"T_world_camera puts the camera at {position.tolist()} m, beyond the map's "
                                    f"range of +-{limit:.0f} m from the origin")

    def _enforce_budget(self) -> np.ndarray:
        if self.config.max_voxels is None:
            return np.empty(0, dtype=np.int64)
        slots = select_evictions(self.grid.store.live("last_seen"), self.config.max_voxels,
                                 self.config.eviction_low_water)
        return self.grid.remove(slots)
