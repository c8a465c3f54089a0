"""The agent: a pose on the floor, discrete actions, straight-segment moves, a teleporting go-to, collisions
with the nav grid.

State frame: world z up, metres; ``yaw`` is the heading about +z in radians (0 faces +x), ``tilt`` the
camera pitch in radians (positive looks up). The camera follows the OpenCV optical convention.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mem3d.errors import InvalidInputError
from mem3d.geometry import look_heading
from mem3d.source import Action, ActionKind, ActionResult
from sim.config import AgentConfig
from sim.navgrid import NavGrid


@dataclass(frozen=True)
class AgentState:
    """Where the agent stands and where its camera looks."""

    x: float
    y: float
    yaw: float
    """Heading about +z, radians, wrapped to (-pi, pi]."""
    tilt: float = 0.0
    """Camera pitch, radians, positive = up."""

    @property
    def xy(self) -> np.ndarray:
        return np.array([self.x, self.y])


def wrap_angle(angle: float) -> float:
    """Angle in (-pi, pi]."""
    wrapped = float(np.arctan2(np.sin(angle), np.cos(angle)))
    return np.pi if wrapped == -np.pi else wrapped


def camera_pose(state: AgentState, camera_height: float, floor_z: float = 0.0) -> np.ndarray:
    """``T_world_camera`` (4x4, OpenCV optical frame) of a camera at ``camera_height`` above the floor."""
    return look_heading((state.x, state.y, floor_z + camera_height), state.yaw, state.tilt)


class Agent:
    """Applies actions to an ``AgentState`` against a ``NavGrid``.

    Behaviour into obstacles: a forward step moves as far as the straight line stays navigable and reports
    ``success=False`` if it stopped short (no sliding along walls). ``MOVE_TO`` turns to face its target,
    drives the straight segment the same way and, when it arrives, turns to the target heading; blocked,
    it stops facing along the segment. ``GO_TO`` checks that a navigable,
    reachable target exists, then teleports there (the result reports the geodesic length); it fails,
    without moving, otherwise.
    """

    def __init__(self, config: AgentConfig):
        self.config = config

    def check_state(self, state: AgentState, grid: NavGrid) -> AgentState:
        if not all(np.isfinite((state.x, state.y, state.yaw, state.tilt))):
            raise InvalidInputError(f"agent state must be finite, got {state}")
        if not grid.is_navigable(state.xy):
            raise InvalidInputError(f"agent position ({state.x:.2f}, {state.y:.2f}) is not on navigable floor")
        limit = np.deg2rad(self.config.max_tilt_deg)
        return replace(state, yaw=wrap_angle(state.yaw), tilt=float(np.clip(state.tilt, -limit, limit)))

    def step(self, state: AgentState, action: Action, grid: NavGrid) -> tuple[AgentState, ActionResult, float]:
        """Return the new state, the result and the distance travelled (metres)."""
        kind = action.kind
        if kind is ActionKind.MOVE_FORWARD:
            heading = np.array([np.cos(state.yaw), np.sin(state.yaw)])
            return self._drive(state, state.xy + self.config.forward_step_m * heading, state.yaw, grid)
        if kind is ActionKind.MOVE_TO:
            x, y, yaw = action.target  # type: ignore[misc]
            if not np.isfinite(action.target).all():
                return state, ActionResult(False, f"move_to target must be finite, got {action.target}"), 0.0
            offset = np.array([x, y]) - state.xy
            length = float(np.hypot(*offset))  # no overflow for far targets
            if length > (reach := float(np.hypot(*grid.shape)) * grid.cell):  # beyond the grid: blocked anyway
                offset, length = offset * (reach / length), reach
            facing = float(np.arctan2(offset[1], offset[0])) if length > 1e-9 else state.yaw
            return self._drive(replace(state, yaw=wrap_angle(facing)), state.xy + offset, yaw, grid)
        if kind in (ActionKind.TURN_LEFT, ActionKind.TURN_RIGHT):
            sign = 1.0 if kind is ActionKind.TURN_LEFT else -1.0
            return replace(state, yaw=wrap_angle(state.yaw + sign * np.deg2rad(self.config.turn_deg))), \
                ActionResult(True), 0.0
        if kind in (ActionKind.LOOK_UP, ActionKind.LOOK_DOWN):
            sign = 1.0 if kind is ActionKind.LOOK_UP else -1.0
            limit = np.deg2rad(self.config.max_tilt_deg)
            wanted = state.tilt + sign * np.deg2rad(self.config.look_deg)
            tilt = float(np.clip(wanted, -limit, limit))
            ok = abs(tilt - wanted) < 1e-9
            return replace(state, tilt=tilt), ActionResult(ok, "" if ok else "camera tilt limit reached"), 0.0
        if kind is ActionKind.GO_TO:
            return self._go_to(state, action.target, grid)
        return state, ActionResult(True, "stopped"), 0.0

    def _drive(self, state: AgentState, target: np.ndarray, final_yaw: float,
               grid: NavGrid) -> tuple[AgentState, ActionResult, float]:
        """Move along the straight line to ``target`` as far as it stays navigable (facing ``state.yaw``);
        on arrival turn to ``final_yaw``."""
        reached = grid.farthest_free(state.xy, target)
        moved = float(np.linalg.norm(reached - state.xy))
        new = replace(state, x=float(reached[0]), y=float(reached[1]))
        if moved < float(np.linalg.norm(target - state.xy)) - 1e-9:
            return new, ActionResult(False, f"blocked by an obstacle after {moved:.3f} m", moved), moved
        return replace(new, yaw=wrap_angle(final_yaw)), ActionResult(True, travelled_m=moved), moved

    def _go_to(self, state: AgentState, target: tuple[float, float, float],
               grid: NavGrid) -> tuple[AgentState, ActionResult, float]:
        x, y, yaw = target
        if not np.isfinite(target).all():
            return state, ActionResult(False, f"go_to target must be finite, got {target}"), 0.0
        if not grid.is_navigable(np.array([x, y])):
            return state, ActionResult(False, f"go_to target ({x:.4g}, {y:.4g}) is not navigable"), 0.0
        path = grid.geodesic_path(state.xy, np.array([x, y]))
        if not path.reachable:
            return state, ActionResult(False, f"go_to target ({x:.4g}, {y:.4g}) is unreachable"), 0.0
        return replace(state, x=x, y=y, yaw=wrap_angle(yaw)), \
            ActionResult(True, f"travelled {path.length_m:.2f} m", path.length_m), path.length_m
