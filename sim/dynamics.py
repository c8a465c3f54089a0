"""Scene changes with physical checks: move, add and remove objects; scripted rearrangements; the
``SceneDynamics`` that applies them to one scene and logs them.

Placement rules (``check_placement``): an object must rest on the floor or on the top of a furniture piece
(within 2 cm), stay inside one room (so it cannot cut a wall), and not overlap another object's bounding
box. Violations raise ``InvalidInputError`` saying why; nothing changes then. World frame z up, metres.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from numbers import Real

import numpy as np

from mem3d.errors import InvalidInputError
from mem3d.validation import require_rigid_pose
from sim.config import non_negative_int
from sim.scene import ObjectKind, Scene, SceneObject, pose_from_xyz_yaw

REST_TOLERANCE_M = 0.02
WALL_MARGIN_M = 0.05
_MOVABLE = (ObjectKind.FURNITURE, ObjectKind.SMALL)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChangeEvent:
    """Ground truth of one change: ``kind`` is "moved", "added" or "removed"."""

    kind: str
    instance_id: int
    label: str
    from_position: tuple[float, float, float] | None
    to_position: tuple[float, float, float] | None
    from_room: str = ""
    to_room: str = ""


def _position(obj: SceneObject) -> tuple[float, float, float]:
    return tuple(float(v) for v in obj.T_world_object[:3, 3])  # type: ignore[return-value]


def _footprint_contains(obj: SceneObject, xy: np.ndarray) -> bool:
    lo, hi = obj.world_bounds()
    return bool(lo[0] <= xy[0] <= hi[0] and lo[1] <= xy[1] <= hi[1])


def find_support(scene: Scene, obj: SceneObject) -> int | None:
    """Instance id of what ``obj`` rests on: 0 for the floor, a furniture id, or None if it floats."""
    bottom = obj.world_bounds()[0][2]
    if abs(bottom - scene.floor_z) <= REST_TOLERANCE_M:
        return 0
    xy = obj.T_world_object[:2, 3]
    for other in scene:
        top = other.top_z()
        if other.instance_id != obj.instance_id and top is not None and abs(bottom - top) <= REST_TOLERANCE_M \
                and _footprint_contains(other, xy):
            return other.instance_id
    return None


def check_placement(scene: Scene, obj: SceneObject, ignore: Iterable[int] = ()) -> int:
    """Raise ``InvalidInputError`` unless ``obj`` may stand at its pose; returns its support id (0 = floor)."""
    lo, hi = obj.world_bounds()
    where = f"{obj.label!r} (#{obj.instance_id}) at {np.round(obj.T_world_object[:3, 3], 3).tolist()}"
    if scene.rooms:
        inside = [r for r in scene.rooms if r.min_xy[0] + WALL_MARGIN_M <= lo[0] and hi[0] <= r.max_xy[0]
                  - WALL_MARGIN_M and r.min_xy[1] + WALL_MARGIN_M <= lo[1] and hi[1] <= r.max_xy[1] - WALL_MARGIN_M]
        if not inside:
            raise InvalidInputError(f"cannot place {where}: it is outside every room or cuts through a wall")
    support = find_support(scene, obj)
    if support is None:
        raise InvalidInputError(f"cannot place {where}: its bottom (z = {lo[2]:.3f} m) rests neither on the floor "
                                f"(z = {scene.floor_z:.3f} m) nor on a furniture top")
    skip = {obj.instance_id, support, *ignore}
    for other in scene:
        if other.kind not in _MOVABLE or other.instance_id in skip:
            continue
        olo, ohi = other.world_bounds()
        gap = np.linalg.norm(obj.T_world_object[:2, 3] - other.T_world_object[:2, 3])
        apart = gap >= footprint_radius(obj) + footprint_radius(other)
        if np.all(lo < ohi - 1e-3) and np.all(olo + 1e-3 < hi) and not apart:
            raise InvalidInputError(f"cannot place {where}: it overlaps {other.label!r} (#{other.instance_id})")
    return support


def spot_on_support(scene: Scene, support: SceneObject, radius: float, rng: np.random.Generator,
                    attempts: int = 30, exclude: int = 0) -> np.ndarray | None:
    """A free world xy on ``support``'s top for an object of footprint ``radius``, or None."""
    lo, hi = support.mesh.bounds()
    spans = [(lo[k] + radius + 0.02, hi[k] - radius - 0.02) for k in range(2)]
    if any(a > b for a, b in spans):
        return None
    others = [o for o in scene if o.support_id == support.instance_id and o.instance_id != exclude]
    for _ in range(attempts):
        local = np.array([rng.uniform(*spans[0]), rng.uniform(*spans[1])])
        xy = support.T_world_object[:2, :2] @ local + support.T_world_object[:2, 3]
        if all(np.linalg.norm(xy - o.T_world_object[:2, 3]) >= radius + footprint_radius(o) + 0.02 for o in others):
            return xy
    return None


def footprint_radius(obj: SceneObject) -> float:
    """Radius of the circle around the object's origin that holds its footprint, metres."""
    lo, hi = obj.mesh.bounds()
    return float(np.hypot(max(abs(lo[0]), abs(hi[0])), max(abs(lo[1]), abs(hi[1]))))


def move_object(scene: Scene, instance_id: int, T_world_object: np.ndarray | None = None, *,
                support_id: int | None = None, rng: np.random.Generator | None = None,
                check: bool = True) -> ChangeEvent:
    """Move an object to the pose ``T_world_object``, or onto a free spot of furniture ``support_id``.

    Objects resting on a moved piece of furniture move with it. With ``check`` the new placement must
    pass ``check_placement``; on failure nothing changes.
    """
    obj = scene.get(instance_id)
    if obj.kind not in _MOVABLE:
        raise InvalidInputError(f"{obj.label!r} (#{instance_id}) is {obj.kind.value} and cannot be moved")
    T_world_old, old_room = obj.T_world_object.copy(), obj.room
    if T_world_object is not None:
        T_world_new = np.array(require_rigid_pose("T_world_object", np.asarray(T_world_object, dtype=np.float64)),
                               dtype=np.float64)
    else:
        if support_id is None:
            raise InvalidInputError("move_object needs a pose (T_world_object) or a support_id")
        support = scene.get(support_id)
        if support.top_z() is None:
            raise InvalidInputError(f"{support.label!r} (#{support_id}) has no top to put things on")
        xy = spot_on_support(scene, support, footprint_radius(obj), rng or np.random.default_rng(0),
                             exclude=instance_id)
        if xy is None:
            raise InvalidInputError(f"no free spot for {obj.label!r} on {support.label!r} (#{support_id})")
        yaw = float(np.arctan2(obj.T_world_object[1, 0], obj.T_world_object[0, 0]))
        T_world_new = pose_from_xyz_yaw(xy[0], xy[1], support.top_z() - obj.mesh.bounds()[0][2], yaw)
    riders = [o for o in scene if o.support_id == instance_id]
    obj.T_world_object = T_world_new
    try:
        new_support = check_placement(scene, obj, ignore=[o.instance_id for o in riders]) if check \
            else (find_support(scene, obj) or 0)
    except InvalidInputError:
        obj.T_world_object = T_world_old
        raise
    room = scene.room_at(*obj.T_world_object[:2, 3])
    scene.set_pose(instance_id, obj.T_world_object, room=room.name if room else "", support_id=new_support)
    motion = obj.T_world_object @ np.linalg.inv(T_world_old)  # the rigid motion in the world frame
    for rider in riders:
        scene.set_pose(rider.instance_id, motion @ rider.T_world_object, room=obj.room)
    old_position: tuple[float, float, float] = tuple(float(v) for v in T_world_old[:3, 3])  # type: ignore[assignment]
    return ChangeEvent("moved", instance_id, obj.label, old_position, _position(obj), old_room, obj.room)


def add_object(scene: Scene, obj: SceneObject, check: bool = True) -> ChangeEvent:
    """Add an object (checked like a move); its room and support are filled in."""
    if check and obj.kind in _MOVABLE:
        obj.support_id = check_placement(scene, obj)
    room = scene.room_at(*obj.T_world_object[:2, 3])
    obj.room = obj.room or (room.name if room else "")
    scene.add(obj)
    return ChangeEvent("added", obj.instance_id, obj.label, None, _position(obj), "", obj.room)


def remove_object(scene: Scene, instance_id: int) -> list[ChangeEvent]:
    """Remove an object and whatever rests on it (one event each, the object first)."""
    riders = [o.instance_id for o in scene if o.support_id == instance_id and o.instance_id != instance_id]
    obj = scene.remove(instance_id)
    events = [ChangeEvent("removed", instance_id, obj.label, _position(obj), None, obj.room, "")]
    for rider in riders:
        events += remove_object(scene, rider)
    return events


@dataclass(frozen=True)
class RearrangementResult:
    """What a rearrangement did: ``events`` (one per moved object) out of ``requested`` objects."""

    events: list[ChangeEvent]
    requested: int

    @property
    def moved(self) -> int:
        """Number of objects actually moved (fewer than ``requested`` when no free spot was found)."""
        return len(self.events)


@dataclass(frozen=True)
class Rearrangement:
    """Scripted event: move ``fraction`` of the small objects that rest on furniture to furniture in other
    rooms (or any other furniture when ``other_room`` is False)."""

    at_step: int = 0
    """Episode step at which it happens (used by the embedded source)."""
    fraction: float = 0.3
    seed: int = 0
    other_room: bool = True

    def __post_init__(self) -> None:
        non_negative_int(self.at_step, "rearrangement step")
        if not (isinstance(self.fraction, Real) and 0.0 <= self.fraction <= 1.0):
            raise InvalidInputError(f"rearrangement fraction must be in [0, 1], got {self.fraction!r}")
        non_negative_int(self.seed, "rearrangement seed")

    def apply(self, scene: Scene) -> RearrangementResult:
        """Move the chosen objects, each to a random free spot; an object with no free spot anywhere
        stays where it is, and the shortfall is logged as a warning."""
        rng = np.random.default_rng(self.seed)
        smalls = sorted((o for o in scene.of_kind(ObjectKind.SMALL) if o.support_id), key=lambda o: o.instance_id)
        count = int(round(self.fraction * len(smalls)))
        chosen = [smalls[i] for i in sorted(rng.choice(len(smalls), size=count, replace=False))] if count else []
        supports = sorted((o for o in scene if o.top_z() is not None), key=lambda o: o.instance_id)
        events = []
        for obj in chosen:
            targets = [s for s in supports if s.instance_id != obj.support_id
                       and (not self.other_room or s.room != obj.room)]
            for k in rng.permutation(len(targets)):
                try:
                    events.append(move_object(scene, obj.instance_id, support_id=targets[k].instance_id, rng=rng))
                    break
                except InvalidInputError:
                    continue
        if len(events) < count:
            log.warning("rearrangement moved %d of the %d objects asked for: no free spot for the others",
                        len(events), count)
        return RearrangementResult(events, count)


@dataclass(frozen=True)
class TimedChange:
    """A ``ChangeEvent`` with the simulated time and the step at which it happened."""

    stamp: float
    step: int
    event: ChangeEvent


class SceneDynamics:
    """Changes one scene, on request or as scripted rearrangements, and logs every change in ``changes``.

    ``clock()`` gives the current (simulated time in seconds, episode step) to stamp the log with;
    ``after_change()`` runs after every change (the embedded source moves its agent off furniture that
    moved onto it). ``events`` happen when ``apply_due`` reaches their ``at_step``, once per episode.
    """

    def __init__(self, scene: Scene, events: Iterable[Rearrangement] = (),
                 clock: Callable[[], tuple[float, int]] = lambda: (0.0, 0),
                 after_change: Callable[[], None] = lambda: None):
        self.scene = scene
        self.events = sorted(events, key=lambda e: e.at_step)
        self.changes: list[TimedChange] = []
        """Log of every scene change made through these dynamics, in order."""
        self._clock = clock
        self._after_change = after_change
        self._pending: list[Rearrangement] = []

    def restart(self) -> None:
        """A new episode: every scripted event is due again."""
        self._pending = list(self.events)

    def apply_due(self, step: int) -> None:
        """Apply the scripted events whose ``at_step`` is at most ``step``."""
        while self._pending and self._pending[0].at_step <= step:
            self._log(*self._pending.pop(0).apply(self.scene).events)

    def move_object(self, instance_id: int, T_world_object: np.ndarray | None = None, *,
                    support_id: int | None = None, seed: int = 0, check: bool = True) -> ChangeEvent:
        """Move an object to ``T_world_object`` or onto furniture ``support_id`` (see ``move_object``)."""
        return self._log(move_object(self.scene, instance_id, T_world_object, support_id=support_id,
                                     rng=np.random.default_rng(seed), check=check))[0]

    def add_object(self, obj: SceneObject, check: bool = True) -> ChangeEvent:
        return self._log(add_object(self.scene, obj, check))[0]

    def remove_object(self, instance_id: int) -> list[ChangeEvent]:
        return self._log(*remove_object(self.scene, instance_id))

    def rearrange(self, fraction: float = 0.3, seed: int = 0, other_room: bool = True) -> RearrangementResult:
        """Move ``fraction`` of the small objects on furniture to furniture in other rooms, now; the result
        says how many were asked for and holds one event per object actually moved."""
        result = Rearrangement(self._clock()[1], fraction, seed, other_room).apply(self.scene)
        self._log(*result.events)
        return result

    def _log(self, *events: ChangeEvent) -> list[ChangeEvent]:
        stamp, step = self._clock()
        self.changes += [TimedChange(stamp, step, e) for e in events]
        if events:
            self._after_change()
        return list(events)
