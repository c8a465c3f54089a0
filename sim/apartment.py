"""Procedural multi-room apartments from a seed: rooms, walls with doors, furniture and small objects.

World frame: z up, metres, floor at z = 0, the apartment footprint spans [0, W] x [0, D]. The same seed
and config always give the same scene.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from mem3d.errors import InvalidInputError
from sim import catalogue as cat
from sim.config import AgentConfig, ApartmentConfig, non_negative_int
from sim.dynamics import spot_on_support
from sim.mesh import box_between, merge
from sim.navgrid import NavGrid
from sim.scene import ObjectKind, Room, Scene, SceneObject, pose_from_xyz_yaw

ROOM_TYPE_ORDER = ("living room", "kitchen", "bedroom", "office", "dining room", "bedroom")
_CLEARANCE = 0.05  # gap kept between furniture footprints, metres
_DOOR_MARGIN = 0.05
"""Extra clearance (metres, beyond the robot radius) on the route that joins every door: one nav cell,
so no door hangs on a gap whose navigable cells are one or two cells wide (touching at corners)."""
_DOOR_PROBE_M = 0.5
"""Each door is checked at its centre and this far into both rooms (inside its furniture-free zone)."""


@dataclass(frozen=True)
class Rect:
    """Axis-aligned rectangle in the floor plane (metres)."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def size(self) -> tuple[float, float]:
        return self.x1 - self.x0, self.y1 - self.y0

    def shrunk(self, margin: float) -> Rect:
        return Rect(self.x0 + margin, self.y0 + margin, self.x1 - margin, self.y1 - margin)

    def overlaps(self, other: Rect) -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def inside(self, other: Rect) -> bool:
        return self.x0 >= other.x0 and self.y0 >= other.y0 and self.x1 <= other.x1 and self.y1 <= other.y1


@dataclass(frozen=True)
class Wall:
    """A wall segment on the line ``fixed`` (x = fixed if ``vertical`` else y = fixed), from lo to hi."""

    vertical: bool
    fixed: float
    lo: float
    hi: float
    door: tuple[float, float] | None = None
    """Opening (start, end) along the wall, metres."""


def _split(rng: np.random.Generator, n_rooms: int, min_size: float) -> tuple[list[Rect], list[Wall]]:
    """Binary space partition of a footprint into ``n_rooms`` rectangles; the split lines become walls."""
    for _ in range(100):
        area = n_rooms * rng.uniform(14.0, 20.0)
        width = float(np.sqrt(area * rng.uniform(1.1, 1.6)))
        rects, walls = [Rect(0.0, 0.0, round(width, 2), round(area / width, 2))], []
        while len(rects) < n_rooms:
            splittable = [r for r in rects if max(r.size) >= 2 * min_size]
            if not splittable:
                break
            rect = max(splittable, key=lambda r: r.size[0] * r.size[1])
            rects.remove(rect)
            vertical = rect.size[0] >= rect.size[1]
            lo, hi = (rect.x0, rect.x1) if vertical else (rect.y0, rect.y1)
            cut = round(float(rng.uniform(max(lo + min_size, lo + 0.35 * (hi - lo)),
                                          min(hi - min_size, hi - 0.35 * (hi - lo)))), 2)
            if vertical:
                rects += [Rect(rect.x0, rect.y0, cut, rect.y1), Rect(cut, rect.y0, rect.x1, rect.y1)]
                walls.append(Wall(True, cut, rect.y0, rect.y1))
            else:
                rects += [Rect(rect.x0, rect.y0, rect.x1, cut), Rect(rect.x0, cut, rect.x1, rect.y1)]
                walls.append(Wall(False, cut, rect.x0, rect.x1))
        if len(rects) == n_rooms:
            return rects, walls
    raise InvalidInputError(f"could not lay out {n_rooms} rooms of at least {min_size} m")


def _with_doors(rng: np.random.Generator, walls: list[Wall], config: ApartmentConfig) -> list[Wall]:
    """Give each interior wall one door, away from the junctions of the walls that end on it."""
    margin = config.wall_thickness_m / 2 + 0.15 + config.door_width_m / 2
    result = []
    for wall in walls:
        stops = [wall.lo, wall.hi] + [o.fixed for o in walls if o.vertical != wall.vertical
                                      and wall.lo < o.fixed < wall.hi
                                      and min(abs(o.lo - wall.fixed), abs(o.hi - wall.fixed)) < 1e-6]
        stops.sort()
        spans = [(a + margin, b - margin) for a, b in zip(stops[:-1], stops[1:]) if b - a > 2 * margin]
        if not spans:
            raise InvalidInputError("no room for a door; increase min_room_size_m")
        a, b = max(spans, key=lambda s: s[1] - s[0])
        center = float(rng.uniform(a, b))
        half = config.door_width_m / 2
        result.append(Wall(wall.vertical, wall.fixed, wall.lo, wall.hi, (center - half, center + half)))
    return result


def _wall_object(wall: Wall, config: ApartmentConfig, instance_id: int) -> SceneObject:
    t, h = config.wall_thickness_m, config.wall_height_m
    pieces = [(wall.lo - t / 2, wall.hi + t / 2, 0.0, h)]
    if wall.door is not None:
        d0, d1 = wall.door
        pieces = [(wall.lo - t / 2, d0, 0.0, h), (d1, wall.hi + t / 2, 0.0, h), (d0, d1, config.door_height_m, h)]
    boxes = []
    for a, b, z0, z1 in pieces:
        if wall.vertical:
            boxes.append(box_between((wall.fixed - t / 2, a, z0), (wall.fixed + t / 2, b, z1), cat.WALL_COLOR))
        else:
            boxes.append(box_between((a, wall.fixed - t / 2, z0), (b, wall.fixed + t / 2, z1), cat.WALL_COLOR))
    return SceneObject(instance_id, "wall", merge(boxes), np.eye(4), cat.WALL_COLOR, ObjectKind.STRUCTURE)


def _room_types(rects: list[Rect]) -> list[str]:
    order = sorted(range(len(rects)), key=lambda i: -rects[i].size[0] * rects[i].size[1])
    types = [""] * len(rects)
    names = list(ROOM_TYPE_ORDER[:len(rects) - 1]) + ["bathroom"]  # the smallest room is the bathroom
    for i, room_type in zip(order, names):
        types[i] = room_type
    return types


def _unique_names(types: list[str]) -> list[str]:
    names, seen = [], {}
    for t in types:
        seen[t] = seen.get(t, 0) + 1
        names.append(t if seen[t] == 1 else f"{t} {seen[t]}")
    return names


class _Furnisher:
    """Places furniture and small objects in one room, keeping doors and walkways clear."""

    def __init__(self, scene: Scene, rng: np.random.Generator, room: Room, interior: Rect, blocked: list[Rect]):
        self.scene, self.rng, self.room, self.interior = scene, rng, room, interior
        self.footprints = list(blocked)
        self.placed: list[SceneObject] = []

    def _new(self, spec: cat.Spec, T_world_object: np.ndarray, support: SceneObject | None) -> SceneObject:
        color_name = str(self.rng.choice(spec.colors))
        color = cat.COLORS[color_name]
        kind = ObjectKind.SMALL if spec.noun in cat.SMALL else ObjectKind.FURNITURE
        obj = SceneObject(self.scene.next_instance_id(), spec.label(color_name), spec.build(spec.size, color),
                          T_world_object, color, kind, self.room.name, 0 if support is None else support.instance_id,
                          spec.support_height)
        self.scene.add(obj)
        self.placed.append(obj)
        return obj

    def _candidate(self, spec: cat.Spec, against_wall: bool) -> tuple[Rect, float] | None:
        w, d, _ = spec.size
        r = self.interior
        if against_wall:
            side = int(self.rng.integers(4))
            yaw = (0.0, np.pi, -np.pi / 2, np.pi / 2)[side]
            fw, fd = (w, d) if side < 2 else (d, w)
            if fw > r.size[0] - 0.04 or fd > r.size[1] - 0.04:
                return None
            x = self.rng.uniform(r.x0 + fw / 2 + 0.02, r.x1 - fw / 2 - 0.02)
            y = self.rng.uniform(r.y0 + fd / 2 + 0.02, r.y1 - fd / 2 - 0.02)
            if side == 0:
                y = r.y0 + fd / 2 + 0.02
            elif side == 1:
                y = r.y1 - fd / 2 - 0.02
            elif side == 2:
                x = r.x0 + fw / 2 + 0.02
            else:
                x = r.x1 - fw / 2 - 0.02
        else:
            yaw = float(self.rng.integers(4)) * np.pi / 2
            fw, fd = (w, d) if int(round(yaw / (np.pi / 2))) % 2 == 0 else (d, w)
            inner = r.shrunk(0.55)
            if fw > inner.size[0] or fd > inner.size[1]:
                return None
            x = self.rng.uniform(inner.x0 + fw / 2, inner.x1 - fw / 2)
            y = self.rng.uniform(inner.y0 + fd / 2, inner.y1 - fd / 2)
        return Rect(x - fw / 2, y - fd / 2, x + fw / 2, y + fd / 2), yaw

    def place_on_floor(self, spec: cat.Spec, attempts: int = 40) -> SceneObject | None:
        for k in range(attempts):
            candidate = self._candidate(spec, spec.against_wall or k >= attempts // 2)
            if candidate is None:
                continue
            rect, yaw = candidate
            padded = rect.shrunk(-_CLEARANCE)
            if any(padded.overlaps(f) for f in self.footprints):
                continue
            self.footprints.append(rect)
            cx, cy = (rect.x0 + rect.x1) / 2, (rect.y0 + rect.y1) / 2
            return self._new(spec, pose_from_xyz_yaw(cx, cy, self.scene.floor_z, yaw), None)
        return None

    def take_back_last(self) -> None:
        """Remove the object ``place_on_floor`` placed last, and its footprint."""
        obj = self.placed.pop()
        self.footprints.pop()
        self.scene.remove(obj.instance_id)

    def place_on(self, support: SceneObject, spec: cat.Spec) -> SceneObject | None:
        radius = float(np.hypot(spec.size[0], spec.size[1])) / 2
        xy = spot_on_support(self.scene, support, radius, self.rng, attempts=20)
        if xy is None:
            return None
        yaw = float(self.rng.uniform(-np.pi, np.pi))
        return self._new(spec, pose_from_xyz_yaw(xy[0], xy[1], support.top_z(), yaw), support)


def _door_zones(walls: list[Wall]) -> list[Rect]:
    zones = []
    for wall in walls:
        if wall.door is not None:
            d0, d1 = wall.door
            a, b = (wall.fixed - 0.9, wall.fixed + 0.9)
            zones.append(Rect(a, d0 - 0.1, b, d1 + 0.1) if wall.vertical else Rect(d0 - 0.1, a, d1 + 0.1, b))
    return zones


def _furnish(scene: Scene, rng: np.random.Generator, room: Room, interior: Rect, zones: list[Rect],
             n_optional: int) -> _Furnisher:
    furnisher = _Furnisher(scene, rng, room, interior, zones)
    required, optional = cat.ROOM_FURNITURE[room.room_type]
    for noun in list(required) + list(optional[:n_optional]):
        obj = furnisher.place_on_floor(cat.CATALOGUE[noun])
        if obj is not None and obj.support_height is not None:
            carries = list(cat.FURNITURE[noun].carries)
            for small in rng.choice(carries, size=min(len(carries), int(rng.integers(1, 4))), replace=False):
                furnisher.place_on(obj, cat.SMALL[str(small)])
    return furnisher


def generate_apartment(seed: int = 0, config: ApartmentConfig | None = None,
                       agent: AgentConfig | None = None) -> Scene:
    """A furnished apartment of 3-6 rooms; raises ``InvalidInputError`` if the config cannot be met."""
    seed = non_negative_int(seed, "an apartment seed")
    config = config or ApartmentConfig()
    agent = agent or AgentConfig()
    rng = np.random.default_rng(seed)
    n_rooms = config.n_rooms or int(rng.integers(3, 7))
    rects, splits = _split(rng, n_rooms, config.min_room_size_m)
    walls = _with_doors(rng, splits, config)
    types = _room_types(rects)
    scene = Scene(seed=seed)
    for rect, room_type, name in zip(rects, types, _unique_names(types)):
        scene.rooms.append(Room(name, room_type, (rect.x0, rect.y0), (rect.x1, rect.y1)))
    _add_structure(scene, rects, walls, config)
    zones = _door_zones(walls)
    interiors = {room.name: rect.shrunk(config.wall_thickness_m / 2) for room, rect in zip(scene.rooms, rects)}
    furnishers = {room.name: _furnish(scene, rng, room, interiors[room.name], zones, 4) for room in scene.rooms}
    _keep_doors_reachable(scene, rng, walls, furnishers, interiors, zones, agent)
    _top_up(scene, rng, config, list(furnishers.values()), lambda: not _rooms_behind_doors(scene, walls, agent))
    return scene


def _add_structure(scene: Scene, rects: list[Rect], walls: list[Wall], config: ApartmentConfig) -> None:
    for room, rect in zip(scene.rooms, rects):
        color = cat.ROOM_FLOOR_COLORS[room.room_type]
        floor = box_between((rect.x0, rect.y0, -0.02), (rect.x1, rect.y1, 0.0), color)
        scene.add(SceneObject(scene.next_instance_id(), "floor", floor, np.eye(4), color, ObjectKind.STRUCTURE,
                              room.name))
    width, depth = rects[0].x1, rects[0].y1
    for r in rects:
        width, depth = max(width, r.x1), max(depth, r.y1)
    outer = [Wall(True, 0.0, 0.0, depth), Wall(True, width, 0.0, depth),
             Wall(False, 0.0, 0.0, width), Wall(False, depth, 0.0, width)]
    for wall in outer + walls:
        scene.add(_wall_object(wall, config, scene.next_instance_id()))
    if config.ceiling:
        h = config.wall_height_m
        ceiling = box_between((0.0, 0.0, h), (width, depth, h + 0.02), cat.CEILING_COLOR)
        scene.add(SceneObject(scene.next_instance_id(), "ceiling", ceiling, np.eye(4), cat.CEILING_COLOR,
                              ObjectKind.STRUCTURE))


def _rooms_behind_doors(scene: Scene, walls: list[Wall], agent: AgentConfig) -> set[str]:
    """Rooms next to a door that is not, with the floor just inside both its rooms, on the one navigable
    region of a robot ``_DOOR_MARGIN`` wider than ``agent``'s (empty: the robot passes from any room to
    any other with room to spare)."""
    grid = NavGrid.from_scene(scene, replace(agent, radius_m=agent.radius_m + _DOOR_MARGIN))
    blocked: set[str] = set()
    for w in walls:
        d = np.array([w.fixed, sum(w.door) / 2] if w.vertical else [sum(w.door) / 2, w.fixed])
        n = np.array([_DOOR_PROBE_M, 0.0] if w.vertical else [0.0, _DOOR_PROBE_M])
        if not np.all(grid.is_navigable(np.stack([d - n, d, d + n]))):
            blocked |= {r.name for r in scene.rooms if r.min_xy[0] - 0.2 <= d[0] <= r.max_xy[0] + 0.2
                        and r.min_xy[1] - 0.2 <= d[1] <= r.max_xy[1] + 0.2}
    return blocked


def _keep_doors_reachable(scene: Scene, rng: np.random.Generator, walls: list[Wall],
                          furnishers: dict[str, _Furnisher], interiors: dict[str, Rect], zones: list[Rect],
                          agent: AgentConfig) -> None:
    """Refurnish rooms (with fewer optional pieces) until no room is behind a door (``_rooms_behind_doors``)."""
    for n_optional in (3, 2, 1, 0, -1):
        blocked_rooms = _rooms_behind_doors(scene, walls, agent)
        if not blocked_rooms:
            return
        for name in sorted(blocked_rooms):
            for obj in furnishers[name].placed:
                scene.remove(obj.instance_id)
            if n_optional >= 0:
                furnishers[name] = _furnish(scene, rng, scene.room(name), interiors[name], zones, n_optional)
            else:
                furnishers[name] = _Furnisher(scene, rng, scene.room(name), interiors[name], zones)
    raise InvalidInputError("could not keep every door reachable; try another seed")


def _top_up(scene: Scene, rng: np.random.Generator, config: ApartmentConfig, furnishers: list[_Furnisher],
            doors_open: Callable[[], bool]) -> None:
    """Add small objects (preferring new categories) until the object and category minimums are met; an item
    put on the floor is taken back when ``doors_open()`` then fails."""
    failed: set[tuple[str, str]] = set()
    while True:
        objects = scene.labelled_objects()
        labels = {o.label for o in objects}
        if len(objects) >= config.min_objects and len(labels) >= config.min_categories:
            return
        nouns = {cat.catalogue_noun(label) for label in labels}
        options = [(f, s, noun) for f in furnishers for s in f.placed if s.support_height is not None
                   for noun in cat.FURNITURE[cat.catalogue_noun(s.label)].carries]
        options += [(f, None, noun) for f in furnishers for noun in cat.FLOOR_ITEMS]
        options = [o for o in options if _key(o) not in failed]
        if not options:
            raise InvalidInputError(f"could not place {config.min_objects} objects of {config.min_categories} "
                                    "categories in this apartment; lower the minimums or add rooms")
        fresh = [o for o in options if o[2] not in nouns]
        choices = fresh or options
        furnisher, support, noun = choices[int(rng.integers(len(choices)))]
        if support is None:
            placed = furnisher.place_on_floor(cat.CATALOGUE[noun], attempts=10)
            if placed is not None and not doors_open():
                furnisher.take_back_last()
                placed = None
        else:
            placed = furnisher.place_on(support, cat.SMALL[noun])
        if placed is None:
            failed.add(_key((furnisher, support, noun)))


def _key(option: tuple[_Furnisher, SceneObject | None, str]) -> tuple[str, str]:
    furnisher, support, noun = option
    return (furnisher.room.name if support is None else str(support.instance_id), noun)
