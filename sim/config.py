"""Typed configuration of the embedded simulator, with every default in one place.

Units: metres, degrees for human-facing angles (converted to radians where used), seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mem3d.config import config_from_dict, load_yaml_config
from mem3d.errors import InvalidInputError
from mem3d.types import CameraIntrinsics


def non_negative_int(value: Any, what: str) -> int:
    """``value`` as an int >= 0, else ``InvalidInputError`` naming ``what`` (seeds: numpy's generators
    refuse negative ones; steps and counts)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InvalidInputError(f"{what} must be an integer >= 0, got {value!r}")
    return int(value)


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
        for name in ("forward_step_m", "turn_deg", "look_deg", "max_tilt_deg", "radius_m", "body_height_m", "cell_m"):
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

    def __post_init__(self) -> None:
        non_negative_int(self.seed, "the episode seed")
        if not self.dt_s > 0:
            raise InvalidInputError(f"dt_s must be positive, got {self.dt_s}")

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "") -> SimConfig:
        """Build from nested plain values; unknown keys and wrong types raise ``InvalidInputError``."""
        return config_from_dict(cls, values, where)

    @classmethod
    def from_yaml(cls, path: str | Path) -> SimConfig:
        """Read a YAML file; every error is one line naming the file (and the offending key if any)."""
        try:
            return load_yaml_config(cls, path)
        except InvalidInputError as error:
            message = " ".join(str(error).split())
            raise InvalidInputError(message if str(path) in message else f"{path}: {message}") from None
