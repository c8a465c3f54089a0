"""The scene: objects (mesh, pose, label, colour), rooms and the category table. Pure data, no open3d.

World frame: z up, metres; the floor of a procedural apartment is z = 0. An object's mesh is in its local
frame; its pose ``T_world_object`` (4x4 float64) maps that frame into the world.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from mem3d.errors import InvalidInputError
from mem3d.validation import require_rigid_pose
from sim.catalogue import description_of
from sim.mesh import RGB, TriMesh


class ObjectKind(str, Enum):
    """Role of an object in the scene, used by navigation and rearrangement."""

    STRUCTURE = "structure"
    """Floors, walls, ceilings: never moved by rearrangement."""
    FURNITURE = "furniture"
    """Large objects on the floor; some carry small objects on their top (``support_height``)."""
    SMALL = "small"
    """Small objects resting on furniture tops or on the floor."""
    BACKGROUND = "background"
    """Unlabelled geometry (e.g. unannotated faces of a scan): rendered with instance and category 0."""


def pose_from_xyz_yaw(x: float, y: float, z: float, yaw: float = 0.0) -> np.ndarray:
    """``T_world_object`` for a translation (metres) and a rotation ``yaw`` (radians) about +z."""
    c, s = np.cos(yaw), np.sin(yaw)
    T_world_object = np.eye(4)
    T_world_object[:2, :2] = [[c, -s], [s, c]]
    T_world_object[:3, 3] = (x, y, z)
    return T_world_object


def _own_rigid_pose(name: str, T: np.ndarray) -> np.ndarray:
    """A float64 copy of the 4x4 rigid transform ``T``; ``InvalidInputError`` naming ``name`` otherwise."""
    return np.array(require_rigid_pose(name, np.asarray(T, dtype=np.float64)), dtype=np.float64)


@dataclass
class SceneObject:
    """One object with ground truth: identity, category label, colour, geometry and pose."""

    instance_id: int
    """Unique id > 0 (the value of its pixels in ``Observation.instance``)."""
    label: str
    """Category label, a short noun phrase ("red mug", "sofa"); its semantic id comes from the scene."""
    mesh: TriMesh
    """Geometry in the object's local frame."""
    T_world_object: np.ndarray
    """(4, 4) float64 pose of the object's local frame in the world frame."""
    color: RGB
    """Dominant RGB colour of the object."""
    kind: ObjectKind = ObjectKind.SMALL
    room: str = ""
    """Name of the room the object is in ("" if none)."""
    support_id: int = 0
    """Instance id of the object it rests on; 0 = the floor (or unknown)."""
    support_height: float | None = None
    """For furniture that carries objects: height of its top surface above its base, metres."""
    description: str = ""
    """A few words saying what it is ("cup" for a mug), embedded with the label by ground-truth
    perception; "" = the category table's description of the label (``sim.catalogue.description_of``)."""

    def __post_init__(self) -> None:
        if int(self.instance_id) <= 0:
            raise InvalidInputError(f"instance ids must be > 0, got {self.instance_id}")
        self.instance_id = int(self.instance_id)
        if self.kind is not ObjectKind.BACKGROUND and not str(self.label).strip():
            raise InvalidInputError(f"object {self.instance_id} has no label; every object needs a category label")
        self.kind = ObjectKind(self.kind)
        self.T_world_object = _own_rigid_pose(f"pose of object {self.instance_id}", self.T_world_object)
        self.color = tuple(int(c) for c in self.color)  # type: ignore[assignment]
        if not isinstance(self.description, str):
            raise InvalidInputError(f"the description of object {self.instance_id} must be text, "
                                    f"got {type(self.description).__name__}")
        self.description = self.description.strip() or description_of(str(self.label))
        if self.support_height is not None and not (np.isfinite(self.support_height) and self.support_height >= 0):
            raise InvalidInputError(f"support_height of object {self.instance_id} must be a height >= 0 (metres), "
                                    f"got {self.support_height}")

    @property
    def position(self) -> np.ndarray:
        """(3,) world position of the object's origin (bottom centre for procedural objects), metres."""
        return self.T_world_object[:3, 3].copy()

    def world_mesh(self) -> TriMesh:
        return self.mesh.transformed(self.T_world_object)

    def world_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned world (min, max) corners, metres."""
        vertices = self.mesh.vertices @ self.T_world_object[:3, :3].T + self.T_world_object[:3, 3]
        return vertices.min(axis=0), vertices.max(axis=0)

    def top_z(self) -> float | None:
        """World height of the top surface that carries small objects, or None."""
        if self.support_height is None:
            return None
        return float(self.T_world_object[2, 3] + self.support_height)


@dataclass(frozen=True)
class Room:
    """An axis-aligned rectangular room (metres, world frame)."""

    name: str
    """Unique name, e.g. "bedroom 2"."""
    room_type: str
    """Type, e.g. "bedroom"."""
    min_xy: tuple[float, float]
    max_xy: tuple[float, float]

    def contains(self, x: float, y: float) -> bool:
        return self.min_xy[0] <= x <= self.max_xy[0] and self.min_xy[1] <= y <= self.max_xy[1]

    @property
    def center(self) -> tuple[float, float]:
        return ((self.min_xy[0] + self.max_xy[0]) / 2, (self.min_xy[1] + self.max_xy[1]) / 2)


@dataclass
class Scene:
    """Objects, rooms and a category table that only grows (label -> semantic id >= 1).

    ``version`` increases with every change, so renderers and navigation grids know when to rebuild.
    """

    rooms: list[Room] = field(default_factory=list)
    objects: dict[int, SceneObject] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    floor_z: float = 0.0
    """Height of the walkable floor, metres."""
    seed: int | None = None
    """Seed of the procedural generator, if the scene came from one."""
    version: int = 0

    def __iter__(self) -> Iterator[SceneObject]:
        return iter(self.objects.values())

    def __len__(self) -> int:
        return len(self.objects)

    def get(self, instance_id: int) -> SceneObject:
        try:
            return self.objects[int(instance_id)]
        except KeyError:
            raise InvalidInputError(f"no object with instance id {instance_id} in the scene") from None

    def semantic_id(self, label: str) -> int:
        """Semantic (category) id of ``label``, adding the category if it is new."""
        if label not in self.categories:
            self.categories[label] = max(self.categories.values(), default=0) + 1
        return self.categories[label]

    def next_instance_id(self) -> int:
        return max(self.objects, default=0) + 1

    def add(self, obj: SceneObject) -> SceneObject:
        """Add an object (no physical checks: see ``sim.dynamics`` for validated placement)."""
        if obj.instance_id in self.objects:
            raise InvalidInputError(f"instance id {obj.instance_id} is already used")
        if obj.kind is not ObjectKind.BACKGROUND:
            self.semantic_id(obj.label)
        self.objects[obj.instance_id] = obj
        self.version += 1
        return obj

    def remove(self, instance_id: int) -> SceneObject:
        obj = self.get(instance_id)
        del self.objects[obj.instance_id]
        self.version += 1
        return obj

    def set_pose(self, instance_id: int, T_world_object: np.ndarray, room: str | None = None,
                 support_id: int | None = None) -> SceneObject:
        """Move an object to the pose ``T_world_object`` (no physical checks)."""
        obj = self.get(instance_id)
        obj.T_world_object = _own_rigid_pose("T_world_object", T_world_object)
        if room is not None:
            obj.room = room
        if support_id is not None:
            obj.support_id = int(support_id)
        self.version += 1
        return obj

    def of_kind(self, *kinds: ObjectKind) -> list[SceneObject]:
        return [o for o in self.objects.values() if o.kind in kinds]

    def labelled_objects(self) -> list[SceneObject]:
        """Furniture and small objects: what a memory is asked to find."""
        return self.of_kind(ObjectKind.FURNITURE, ObjectKind.SMALL)

    def room_at(self, x: float, y: float) -> Room | None:
        return next((r for r in self.rooms if r.contains(x, y)), None)

    def room(self, name: str) -> Room:
        for room in self.rooms:
            if room.name == name:
                return room
        raise InvalidInputError(f"no room named {name!r}; rooms: {[r.name for r in self.rooms]}")

    def label_of_semantic(self) -> dict[int, str]:
        return {i: label for label, i in self.categories.items()}

    def description_of_semantic(self) -> dict[int, str]:
        """Semantic id -> a few words describing its category: the description of its objects (the
        first by instance id where they differ), else the category table's (``sim.catalogue``);
        categories with neither have none."""
        described = {}
        for obj in sorted(self.objects.values(), key=lambda o: o.instance_id):
            if obj.description and obj.label in self.categories:
                described.setdefault(self.categories[obj.label], obj.description)
        tables = {i: text for label, i in self.categories.items() if (text := description_of(label))}
        return {**tables, **described}

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """World (min, max) corners of all geometry, metres."""
        corners = [o.world_bounds() for o in self.objects.values()]
        if not corners:
            raise InvalidInputError("the scene is empty")
        return np.min([c[0] for c in corners], axis=0), np.max([c[1] for c in corners], axis=0)
