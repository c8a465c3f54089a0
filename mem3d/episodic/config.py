"""Typed settings of the episodic memory (defaults live here only). Metres, seconds, degrees."""

from __future__ import annotations

from dataclasses import dataclass, field

from mem3d.validation import require


@dataclass(frozen=True)
class PlaceConfig:
    radius_m: float = 1.5
    """A camera position farther than this (horizontally) from every place starts a new place."""
    max_step_m: float = 1.5
    """Two consecutive observations closer than this count as a travelled path between their places;
    a bigger jump (a relocalisation, a restart) proves no traversal."""

    def __post_init__(self) -> None:
        require(self.radius_m > 0 and self.max_step_m > 0, "place radius and max step must be positive")


@dataclass(frozen=True)
class KeyframeConfig:
    min_translation_m: float = 0.75
    """A frame whose camera moved this far from the place's latest keyframe is novel."""
    min_rotation_deg: float = 35.0
    """... or turned this much from it."""
    new_coverage_fraction: float = 0.3
    """... or whose voxels are at least this fraction new (``MapUpdate.added``)."""
    jpeg_quality: int = 90

    def __post_init__(self) -> None:
        require(self.min_translation_m > 0 and self.min_rotation_deg > 0, "keyframe novelty thresholds must be > 0")
        require(0 < self.new_coverage_fraction <= 1, "new_coverage_fraction must be in (0, 1]")
        require(1 <= self.jpeg_quality <= 100, "jpeg_quality must be in [1, 100]")


@dataclass(frozen=True)
class InstanceConfig:
    same_object_cosine: float = 0.9
    """Two features this similar may belong to one object (label features of one category: 1.0)."""
    min_voxels: int = 3
    """Smaller clusters of a frame are noise, not objects (3: an apple or a banana at a few metres is
    often sampled as 3 voxels; 4 lost them at their new spot after a move)."""
    match_distance_m: float = 0.4
    """A cluster joins an instance whose box, grown by this margin, holds the cluster's centroid."""
    max_extent_m: float = 3.0
    """Clusters wider than this (horizontally) are structure (floor, walls), not objects."""
    max_height_m: float = 2.3
    """... or taller than this (a wardrobe is 2 m, walls 2.5 m)."""
    surface_thickness_m: float = 0.11
    """Clusters this thin along one axis and ``structure_extent_m`` long along both others are floors,
    walls, ceilings."""
    structure_extent_m: float = 1.8
    surface_extent_m: float = 0.8
    """Thin clusters this long are skipped as surface patches (their feature is not marked structure)."""
    gone_fraction: float = 0.5
    """An instance whose voxels were carved down to this fraction of the most it had is gone."""
    free_margin_m: float = 0.05
    """A new cluster "appeared" when an earlier keyframe saw this far (plus 2% of the depth) beyond
    where it stands now (the carving margin)."""
    sighting_gap_s: float = 5.0
    """Sightings of one instance closer in time than this are one interval."""
    max_keys: int = 4096
    """Voxel keys an instance remembers at most (the newest sighting's are kept)."""

    def __post_init__(self) -> None:
        require(-1 <= self.same_object_cosine <= 1, "same_object_cosine must be in [-1, 1]")
        require(self.min_voxels >= 1 and self.max_keys >= self.min_voxels, "min_voxels / max_keys out of range")
        require(0 < self.gone_fraction < 1, "gone_fraction must be in (0, 1)")


@dataclass(frozen=True)
class BudgetConfig:
    """Caps of the memory; None = unbounded. The policy is ``mem3d.episodic.budget``."""

    max_voxels: int | None = None
    max_keyframes: int | None = None
    low_water: float = 0.95
    """Voxel eviction brings the map down to this fraction of ``max_voxels``."""

    def __post_init__(self) -> None:
        require(self.max_voxels is None or self.max_voxels >= 1, "max_voxels must be positive or None")
        require(self.max_keyframes is None or self.max_keyframes >= 1, "max_keyframes must be positive or None")
        require(0 < self.low_water <= 1, "low_water must be in (0, 1]")


@dataclass(frozen=True)
class EpisodicConfig:
    places: PlaceConfig = field(default_factory=PlaceConfig)
    keyframes: KeyframeConfig = field(default_factory=KeyframeConfig)
    instances: InstanceConfig = field(default_factory=InstanceConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
