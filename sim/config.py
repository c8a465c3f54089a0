"""Typed configuration of the embedded simulator, with every default in one place.

Units: metres, degrees for human-facing angles (converted to radians where used), seconds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mem3d.errors import InvalidInputError
from mem3d.types import CameraIntrinsics

T = TypeVar("T")


@dataclass(frozen=True)
class CameraConfig:
    """The agent's RGB-D camera: intrinsics, mounting and depth imperfections."""

    width: int = 640
    height: int = 480
    hfov_deg: float = 90.0
    """Horizontal field of view; ignored when ``fx`` is given."""
    fx: float | None = None
    """Explicit intrinsics in pixels (``fy``, ``cx``, ``cy`` default to ``fx`` and the image centre)."""
    fy: float | None = None
    cx: float | None = None
    cy: float | None = None
    height_m: float = 1.2
    """Height of the optical centre above the floor."""
    tilt_deg: float = 0.0
    """Initial pitch; positive looks up."""
    depth_noise_std_m: float = 0.0
    """Gaussian depth noise standard deviation at 1 m; it grows with the square of the depth."""
    depth_missing_fraction: float = 0.0
    """Fraction of pixels whose depth is dropped (set to 0) at random."""
    max_depth_m: float = 0.0
    """Depth beyond this range is reported as 0 (invalid); 0 = unlimited."""

    def intrinsics(self) -> CameraIntrinsics:
        if self.fx is None:
            return CameraIntrinsics.from_fov(self.width, self.height, self.hfov_deg)
        fy = self.fx if self.fy is None else self.fy
        cx = (self.width - 1) / 2.0 if self.cx is None else self.cx
        cy = (self.height - 1) / 2.0 if self.cy is None else self.cy
        return CameraIntrinsics(self.fx, fy, cx, cy, self.width, self.height)

    def __post_init__(self) -> None:
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise InvalidInputError(f"image size must be positive, got {self.width}x{self.height}")
        if self.height_m <= 0:
            raise InvalidInputError(f"camera height must be positive, got {self.height_m} m")
        if self.depth_noise_std_m < 0 or self.max_depth_m < 0:
            raise InvalidInputError("depth noise and maximum depth must be >= 0")
        if not 0.0 <= self.depth_missing_fraction <= 1.0:
            raise InvalidInputError(f"depth_missing_fraction must be in [0, 1], got {self.depth_missing_fraction}")
        self.intrinsics()  # validates the numbers


@dataclass(frozen=True)
class AgentConfig:
    """Discrete action sizes, body size and the navigation grid."""

    forward_step_m: float = 0.25
    turn_deg: float = 15.0
    look_deg: float = 15.0
    max_tilt_deg: float = 60.0
    """Looking up/down is clamped to +-this pitch."""
    radius_m: float = 0.18
    """Robot radius: the navigable grid keeps this far from obstacles."""
    body_height_m: float = 1.5
    """Geometry between ``step_height_m`` and this height above the floor blocks the robot."""
    step_height_m: float = 0.05
    cell_m: float = 0.05
    """Navigation grid resolution."""

    def __post_init__(self) -> None:
        for name in ("forward_step_m", "turn_deg", "look_deg", "radius_m", "body_height_m", "cell_m"):
            if not getattr(self, name) > 0:
                raise InvalidInputError(f"agent {name} must be positive, got {getattr(self, name)}")


@dataclass(frozen=True)
class ApartmentConfig:
    """Procedural apartment generator."""

    n_rooms: int | None = None
    """3..6; None = drawn from the seed."""
    min_objects: int = 40
    """Furniture plus small objects at least (structure excluded)."""
    min_categories: int = 20
    wall_height_m: float = 2.5
    wall_thickness_m: float = 0.1
    door_width_m: float = 0.9
    door_height_m: float = 2.1
    min_room_size_m: float = 2.8
    ceiling: bool = True

    def __post_init__(self) -> None:
        if self.n_rooms is not None and not 3 <= self.n_rooms <= 6:
            raise InvalidInputError(f"an apartment has 3 to 6 rooms, got {self.n_rooms}")
        if self.door_height_m >= self.wall_height_m:
            raise InvalidInputError("doors must be lower than the walls")


@dataclass(frozen=True)
class SimConfig:
    """Everything the embedded simulator source needs."""

    camera: CameraConfig = field(default_factory=CameraConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    apartment: ApartmentConfig = field(default_factory=ApartmentConfig)
    dt_s: float = 0.1
    """Simulated time between two steps (each observe and each act advances the clock)."""
    seed: int = 0
    """Default episode seed (start pose, depth noise) when ``reset`` gets none."""
    render_threads: int = 0
    """Ray casting threads; 0 = all cores."""

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SimConfig:
        """Build from nested plain values (e.g. a YAML file); unknown keys raise ``InvalidInputError``."""
        return from_dict(cls, values)


def from_dict(cls: type[T], values: dict[str, Any]) -> T:
    """Build the dataclass ``cls`` from a dict, recursing into dataclass-typed fields."""
    if not isinstance(values, dict):
        raise InvalidInputError(f"{cls.__name__} expects a mapping, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise InvalidInputError(f"unknown {cls.__name__} option(s) {unknown}; known: {sorted(fields)}")
    kwargs = {}
    for name, value in values.items():
        default = fields[name].default_factory if fields[name].default_factory is not dataclasses.MISSING \
            else None
        nested = type(default()) if default is not None else None
        kwargs[name] = from_dict(nested, value) if nested is not None and dataclasses.is_dataclass(nested) \
            else value
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise InvalidInputError(f"bad {cls.__name__} options: {error}") from None
