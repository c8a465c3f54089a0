"""Typed boundary types shared by sim, perception, the memory service and planners.

Conventions (see docs/architecture.md):
- World frame: z up, metres, right-handed (REP-103).
- Camera frame: OpenCV optical (x right, y down, z forward).
- ``T_a_b`` maps points expressed in frame b into frame a; ``T_world_camera`` is the camera pose.
- Pixels: the centre of pixel (row v, column u) is at (u, v); projection and rays: ``mem3d.geometry``.
- Depth: float32 metres along the optical axis (z-depth); 0 or non-finite means "no measurement".
- Features: L2-normalised vectors of a dimension D fixed when a map is created.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from mem3d.errors import InvalidInputError, SchemaMismatchError
from mem3d.validation import (
    require_array,
    require_finite,
    require_int,
    require_real,
    require_rigid_pose,
    require_unit_rows,
)

MAX_IMAGE_SIDE = 16384
"""Largest image width or height in pixels that any boundary accepts."""


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics in pixels for an image of ``width`` x ``height`` pixels."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        values = [require_real(name, getattr(self, name)) for name in ("fx", "fy", "cx", "cy")]
        if values[0] <= 0 or values[1] <= 0:
            raise InvalidInputError(f"intrinsics need positive focal lengths, got fx={values[0]}, fy={values[1]}")
        require_int("image width", self.width, 1, MAX_IMAGE_SIDE)
        require_int("image height", self.height, 1, MAX_IMAGE_SIDE)

    @classmethod
    def from_fov(cls, width: int, height: int, hfov_deg: float) -> CameraIntrinsics:
        """Square pixels, principal point at the image centre, horizontal field of view in degrees."""
        if not 0.0 < hfov_deg < 180.0:
            raise InvalidInputError(f"horizontal field of view must be in (0, 180) degrees, got {hfov_deg}")
        f = 0.5 * width / np.tan(np.deg2rad(hfov_deg) / 2.0)
        return cls(f, f, (width - 1) / 2.0, (height - 1) / 2.0, width, height)

    def binned(self, factor: int) -> CameraIntrinsics:
        """Intrinsics after pooling ``factor`` x ``factor`` pixel blocks (partial blocks dropped)."""
        if int(factor) != factor or factor < 1:
            raise InvalidInputError(f"binning factor must be a positive integer, got {factor}")
        return CameraIntrinsics(self.fx / factor, self.fy / factor, (self.cx + 0.5) / factor - 0.5,
                                (self.cy + 0.5) / factor - 0.5, self.width // factor, self.height // factor)

    def scaled(self, factor: float) -> CameraIntrinsics:
        """Intrinsics of the same camera with the image resized by ``factor`` (pixel-centre convention)."""
        width, height = max(1, round(self.width * factor)), max(1, round(self.height * factor))
        sx, sy = width / self.width, height / self.height
        return CameraIntrinsics(self.fx * sx, self.fy * sy, (self.cx + 0.5) * sx - 0.5,
                                (self.cy + 0.5) * sy - 0.5, width, height)


@dataclass
class Observation:
    """One posed RGB-D frame from any source (sim, ROS 2, bag, replay)."""

    rgb: np.ndarray
    """(H, W, 3) uint8, RGB."""
    depth: np.ndarray
    """(H, W) float32 z-depth in metres; 0 or non-finite = invalid."""
    intrinsics: CameraIntrinsics
    """Pinhole intrinsics of both images."""
    T_world_camera: np.ndarray
    """(4, 4) float64 rigid pose of the optical frame in the world frame."""
    stamp: float
    """Acquisition time, seconds."""
    obs_id: int
    """Monotonically increasing observation id of the source."""
    semantic: np.ndarray | None = None
    """Optional (H, W) int32 category id per pixel; 0 = unlabelled."""
    instance: np.ndarray | None = None
    """Optional (H, W) int32 object instance id per pixel; 0 = none."""
    labels: Mapping[int, str] = field(default_factory=dict)
    """Category id -> label text (e.g. 7 -> "red mug") for the ids in ``semantic``."""
    descriptions: Mapping[int, str] = field(default_factory=dict)
    """Optional category id -> a few words describing the category (7 -> "cup"), which ground-truth
    perception embeds together with the label; categories without one are embedded by label alone."""

    def validate(self) -> Observation:
        """Raise ``InvalidInputError`` unless every field has the documented shape and dtype."""
        h, w = self.intrinsics.height, self.intrinsics.width
        require_array("rgb", self.rgb, shape=(h, w, 3), dtypes=(np.uint8,))
        require_array("depth", self.depth, shape=(h, w), dtypes=(np.float32,))
        require_rigid_pose("T_world_camera", self.T_world_camera)
        require_real("stamp", self.stamp)
        require_int("obs_id", self.obs_id)
        for name in ("semantic", "instance"):
            ids = getattr(self, name)
            if ids is not None:
                require_array(name, ids, shape=(h, w), dtypes=(np.int32,))
        return self


@dataclass
class FeatureFrame:
    """What perception sends to the memory: sampled surface points with features, in the world frame.

    A frame may have no points when it carries a depth image: it then only carves free space.

    Features come as a palette: ``features`` holds K distinct feature vectors and ``map.codebook``
    says which one each point carries (a ViT gives a few hundred patch features per frame, the label
    path a few dozen). A per-point feature frame is the case K = N with ``feature_index = arange(N)``.
    """

    points: np.ndarray
    """(N, 3) float32 world points, metres."""
    colors: np.ndarray
    """(N, 3) uint8 RGB colour of each point."""
    features: np.ndarray
    """(K, D) float16 or float32 L2-normalised feature palette."""
    feature_index: np.ndarray
    """(N,) int32 row of ``features`` for each point."""
    T_world_camera: np.ndarray
    """(4, 4) float64 camera pose at capture."""
    stamp: float
    """Capture time, seconds."""
    obs_id: int
    """Observation id this frame was computed from, in [0, 2**63)."""
    depth: np.ndarray | None = None
    """Optional (h, w) float32 z-depth in metres used to carve free space (may be downsampled).
    Unlike a sensor's depth it must be sanitised: finite everywhere, 0 = no measurement."""
    intrinsics: CameraIntrinsics | None = None
    """Intrinsics of ``depth`` (required when ``depth`` is given)."""
    feature_model: str = ""
    """Name of the encoder that made the features, checked against the map's."""
    rgb: np.ndarray | None = None
    """Optional (h, w, 3) uint8 RGB image of the shape of ``depth`` (same intrinsics): the picture the
    episodic memory keeps when it makes this frame a keyframe (``mem3d.episodic.keyframes``)."""

    @property
    def n_points(self) -> int:
        return int(self.points.shape[0]) if isinstance(self.points, np.ndarray) else 0

    @property
    def feature_dim(self) -> int:
        return int(self.features.shape[1])

    def validate(self, feature_dim: int | None = None) -> FeatureFrame:
        """Raise ``InvalidInputError`` on any malformed field, ``SchemaMismatchError`` when ``feature_dim``
        is given and the features have another dimension."""
        points = require_array("points", self.points, shape=(None, 3), dtypes=(np.float32,))
        n = points.shape[0]
        if n == 0 and self.depth is None:
            raise InvalidInputError("feature frame has no points and no depth to carve with")
        require_finite("points", points)
        require_array("colors", self.colors, shape=(n, 3), dtypes=(np.uint8,))
        features = require_array("features", self.features, shape=(None, None),
                                 dtypes=(np.float16, np.float32))
        if features.shape[1] == 0 or (features.shape[0] == 0 and n > 0):
            raise InvalidInputError(f"features must be a non-empty (K, D) palette, got {features.shape}")
        if feature_dim is not None and features.shape[1] != feature_dim:
            raise SchemaMismatchError(
                f"feature dimension {features.shape[1]} does not match the map's dimension {feature_dim}")
        require_finite("features", features)
        require_unit_rows("features", features)
        index = require_array("feature_index", self.feature_index, shape=(n,), dtypes=(np.int32, np.int64))
        if n and (index.min() < 0 or index.max() >= features.shape[0]):
            raise InvalidInputError(
                f"feature_index must lie in [0, {features.shape[0]}), got [{index.min()}, {index.max()}]")
        require_rigid_pose("T_world_camera", self.T_world_camera)
        require_real("stamp", self.stamp)
        require_int("obs_id", self.obs_id)
        if not isinstance(self.feature_model, str):
            raise InvalidInputError(f"feature_model must be a string, got {type(self.feature_model).__name__}")
        if self.depth is not None:
            if not isinstance(self.intrinsics, CameraIntrinsics):
                raise InvalidInputError("a carving depth image needs its intrinsics (a CameraIntrinsics)")
            require_array("depth", self.depth,
                          shape=(self.intrinsics.height, self.intrinsics.width), dtypes=(np.float32,))
            require_finite("depth", self.depth)
            if (self.depth < 0).any():
                raise InvalidInputError("depth must be >= 0 metres (0 = no measurement), found negative values")
        if self.rgb is not None:
            if self.depth is None:
                raise InvalidInputError("a keyframe image (rgb) needs the depth image it goes with")
            require_array("rgb", self.rgb, shape=(*self.depth.shape, 3), dtypes=(np.uint8,))
        return self


@dataclass(frozen=True)
class Candidate:
    """One place where a queried concept was found: a connected cluster of matching voxels."""

    centroid: tuple[float, float, float]
    """Score-weighted mean of the cluster's voxel positions, world frame, metres."""
    bbox_min: tuple[float, float, float]
    """Axis-aligned bounding box corner (world, metres), voxel extents included."""
    bbox_max: tuple[float, float, float]
    """The opposite corner (world, metres), voxel extents included."""
    score: float
    """Mean cosine similarity of the cluster's best voxels to the query (in [-1, 1])."""
    n_voxels: int
    """Number of matching voxels in the cluster."""
    first_seen: float
    """Earliest stamp (s) at which any of the cluster's voxels was observed."""
    last_seen: float
    """Latest stamp (s) at which any of the cluster's voxels was observed."""
    obs_id: int
    """Observation of the most recent sighting (the one at ``last_seen``): the evidence to show a user."""


@dataclass(frozen=True)
class LocalizeResult:
    """Ranked answer to "where is X?"; empty ``candidates`` means "not found, go explore"."""

    candidates: tuple[Candidate, ...]
    threshold: float
    """Cosine similarity a voxel must reach to count as a match."""
    n_matching_voxels: int
    """Voxels at or above the threshold, in all clusters (noise clusters included)."""

    @property
    def found(self) -> bool:
        return bool(self.candidates)


@dataclass(frozen=True)
class MapUpdate:
    """Which voxels one update changed, as packed int64 voxel keys (see ``mem3d.map.keys``)."""

    obs_id: int
    """The observation whose frame made the change."""
    stamp: float
    """Its capture time, seconds."""
    added: np.ndarray
    """(A,) int64 keys of voxels the frame created."""
    updated: np.ndarray
    """(U,) int64 keys of existing voxels the frame observed again (fused)."""
    removed: np.ndarray
    """Voxels carved away because the depth showed free space where they were."""
    evicted: np.ndarray
    """Voxels dropped to keep the map within its voxel budget."""
    contradicted: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    """Updated voxels whose features the frame contradicted: something else may stand there now."""
