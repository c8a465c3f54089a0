"""Save a scene to a directory (``manifest.json`` + one ``.npz`` mesh per object) and load it back.

The manifest lists rooms, the category table and every object: instance id, label, kind, colour, room,
support, ``pose`` (4x4 ``T_world_object``, world z up, metres) and ``mesh``: a path relative to the
scene directory, either a saved ``.npz`` or an external ``.obj`` / ``.ply`` / ``.glb`` / ``.gltf`` / ``.off``
(optionally with ``"up_axis"`` and ``"scale"``). Floats are written with full precision, so a saved
scene reloads identically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from mem3d.errors import InvalidInputError
from sim.config import AgentConfig, ApartmentConfig
from sim.mesh import TriMesh
from sim.mesh_io import MESH_SUFFIXES, load_hm3d, load_mesh, load_replica
from sim.scene import ObjectKind, Room, Scene, SceneObject

MANIFEST = "manifest.json"
FORMAT = "mem3d-scene"
FORMAT_VERSION = 1
_MESH_ARRAYS = ("vertices", "triangles", "face_colors", "vertex_colors", "triangle_uvs", "texture")


def save_scene(scene: Scene, directory: str | Path) -> Path:
    """Write ``directory/manifest.json`` and ``directory/meshes/<instance id>.npz``; returns the manifest path."""
    directory = Path(directory)
    (directory / "meshes").mkdir(parents=True, exist_ok=True)
    objects = []
    for obj in sorted(scene, key=lambda o: o.instance_id):
        mesh_name = f"meshes/{obj.instance_id:06d}.npz"
        arrays = {k: getattr(obj.mesh, k) for k in _MESH_ARRAYS if getattr(obj.mesh, k) is not None}
        np.savez_compressed(directory / mesh_name, **arrays)
        objects.append({"instance_id": obj.instance_id, "label": obj.label, "kind": obj.kind.value,
                        "color": list(obj.color), "room": obj.room, "support_id": obj.support_id,
                        "support_height": obj.support_height, "pose": obj.pose.tolist(), "mesh": mesh_name})
    manifest = {"format": FORMAT, "version": FORMAT_VERSION, "seed": scene.seed, "floor_z": scene.floor_z,
                "categories": scene.categories,
                "rooms": [{"name": r.name, "type": r.room_type, "min_xy": list(r.min_xy), "max_xy": list(r.max_xy)}
                          for r in scene.rooms],
                "objects": objects}
    path = directory / MANIFEST
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=1))
    tmp.replace(path)
    return path


def _field(entry: dict[str, Any], key: str, where: str) -> Any:
    if key not in entry:
        raise InvalidInputError(f"{where} has no {key!r}")
    return entry[key]


def _load_object_mesh(directory: Path, entry: dict[str, Any], where: str) -> TriMesh:
    rel = str(_field(entry, "mesh", where))
    path = (directory / rel).resolve()
    if rel.endswith(".npz"):
        if not path.is_file():
            raise InvalidInputError(f"{where}: mesh file {path} does not exist")
        with np.load(path, allow_pickle=False) as data:
            return TriMesh(**{k: data[k] for k in _MESH_ARRAYS if k in data})
    if not rel.lower().endswith(MESH_SUFFIXES):
        raise InvalidInputError(f"{where}: unsupported mesh file {rel!r} (use .npz or {', '.join(MESH_SUFFIXES)})")
    return load_mesh(path, entry.get("up_axis"), float(entry.get("scale", 1.0)))


def load_manifest(directory: str | Path) -> Scene:
    """Load a scene saved by ``save_scene`` or written by hand in the same format."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise InvalidInputError(f"{directory} has no {MANIFEST}")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise InvalidInputError(f"{path} is not valid JSON: {error}") from None
    if manifest.get("format", FORMAT) != FORMAT or int(manifest.get("version", 1)) > FORMAT_VERSION:
        raise InvalidInputError(f"{path}: unsupported scene format {manifest.get('format')!r} "
                                f"version {manifest.get('version')!r}")
    rooms = [Room(str(_field(r, "name", "room")), str(r.get("type", r["name"])),
                  tuple(float(v) for v in _field(r, "min_xy", "room")),  # type: ignore[arg-type]
                  tuple(float(v) for v in _field(r, "max_xy", "room")))  # type: ignore[arg-type]
             for r in manifest.get("rooms", [])]
    scene = Scene(rooms=rooms, floor_z=float(manifest.get("floor_z", 0.0)), seed=manifest.get("seed"))
    scene.categories.update({str(k): int(v) for k, v in manifest.get("categories", {}).items()})
    for k, entry in enumerate(manifest.get("objects", [])):
        where = f"{path} object #{k}"
        label = entry.get("label")
        kind = ObjectKind(entry.get("kind", ObjectKind.SMALL.value))
        if kind is not ObjectKind.BACKGROUND and (not isinstance(label, str) or not label.strip()):
            raise InvalidInputError(f"{where} ({entry.get('mesh')}) has no label; every object needs one")
        mesh = _load_object_mesh(directory, entry, where)
        color = entry.get("color") or [int(c) for c in np.median(mesh.face_colors, axis=0)]
        try:
            pose = np.asarray(entry.get("pose", np.eye(4).tolist()), dtype=np.float64)
            scene.add(SceneObject(int(entry.get("instance_id", scene.next_instance_id())), label or "", mesh, pose,
                                  tuple(color), kind, str(entry.get("room", "")),  # type: ignore[arg-type]
                                  int(entry.get("support_id", 0)), entry.get("support_height")))
        except (TypeError, ValueError) as error:
            raise InvalidInputError(f"{where}: {error}") from None
    scene.version = 0
    return scene


def load_scene(spec: str | int | Path, apartment: ApartmentConfig | None = None,
               agent: AgentConfig | None = None) -> Scene:
    """A scene from a seed (procedural apartment), a saved scene directory, a Replica scene directory, or
    an HM3D ``*.semantic.glb`` (with its ``*.semantic.txt`` beside it)."""
    from sim.apartment import generate_apartment

    text = str(spec)
    if isinstance(spec, int) or text.lstrip("-").isdigit():
        return generate_apartment(int(text), apartment, agent)
    path = Path(text)
    if path.is_dir():
        if (path / MANIFEST).is_file():
            return load_manifest(path)
        if (path / "habitat" / "mesh_semantic.ply").is_file():
            return load_replica(path)
        raise InvalidInputError(f"{path} is neither a saved scene (no {MANIFEST}) nor a Replica scene "
                                "(no habitat/mesh_semantic.ply)")
    if path.is_file() and path.name.endswith(".semantic.glb"):
        return load_hm3d(path)
    if path.is_file():
        raise InvalidInputError(f"unknown scene file {path}: give a seed, a scene directory with {MANIFEST}, "
                                "a Replica directory or an HM3D *.semantic.glb")
    raise InvalidInputError(f"scene {text!r} is not a seed and does not exist")
