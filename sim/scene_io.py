"""Save a scene to a directory (``manifest.json`` + one ``.npz`` mesh per object) and load it back.

The manifest lists rooms, the category table and every object: instance id, label, kind (absent = by
size: small under 0.5 m, else furniture), colour, room, support, support height, an optional
``description`` (a few words embedded with the label), ``pose`` (4x4 ``T_world_object``, world z up,
metres) and ``mesh``: a path relative to the scene directory, either a saved ``.npz`` or an external
``.obj`` / ``.ply`` / ``.glb`` / ``.gltf`` / ``.off`` (optionally with ``"up_axis"`` and ``"scale"``).
Floats are written with full precision, so a saved scene reloads identically.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from mem3d.errors import InvalidInputError
from sim.config import AgentConfig, ApartmentConfig, non_negative_int
from sim.mesh import TriMesh
from sim.mesh_io import MESH_SUFFIXES, kind_for, load_hm3d, load_mesh, load_replica
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
                        "support_height": obj.support_height, "description": obj.description,
                        "pose": obj.T_world_object.tolist(), "mesh": mesh_name})
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


@contextmanager
def _naming(where: str) -> Iterator[None]:
    """Re-raise any error met while reading ``where`` as an ``InvalidInputError`` that names it."""
    try:
        yield
    except (InvalidInputError, TypeError, ValueError, KeyError, IndexError) as error:
        detail = error if isinstance(error, InvalidInputError) else f"{type(error).__name__}: {error}"
        raise InvalidInputError(f"{where}: {detail}") from None


def _field(entry: dict[str, Any], key: str) -> Any:
    if key not in entry:
        raise InvalidInputError(f"has no {key!r}")
    return entry[key]


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInputError(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def _list(manifest: dict[str, Any], key: str) -> list[Any]:
    value = manifest.get(key, [])
    if not isinstance(value, list):
        raise InvalidInputError(f"{key!r} must be a list, got {type(value).__name__}")
    return value


def _load_npz_mesh(path: Path) -> TriMesh:
    """A mesh saved by ``save_scene``; a corrupt file or bad arrays raise ``InvalidInputError`` naming it."""
    if not path.is_file():
        raise InvalidInputError(f"mesh file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            return TriMesh(**{k: data[k] for k in _MESH_ARRAYS if k in data})
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as error:
        raise InvalidInputError(f"mesh file {path} is not a valid mesh .npz: {error}") from None


def _load_object_mesh(directory: Path, entry: dict[str, Any]) -> TriMesh:
    rel = str(_field(entry, "mesh"))
    path = (directory / rel).resolve()
    if rel.endswith(".npz"):
        return _load_npz_mesh(path)
    if not rel.lower().endswith(MESH_SUFFIXES):
        raise InvalidInputError(f"unsupported mesh file {rel!r} (use .npz or {', '.join(MESH_SUFFIXES)})")
    return load_mesh(path, entry.get("up_axis"), float(entry.get("scale", 1.0)))


def _read_manifest(path: Path) -> dict[str, Any]:
    """The manifest's JSON object, after checking its format and version."""
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InvalidInputError(f"{path} is not valid JSON: {error}") from None
    with _naming(str(path)):
        manifest = _mapping(manifest, "the manifest")
        version = manifest.get("version", 1)
        if manifest.get("format", FORMAT) != FORMAT or not isinstance(version, int) or version > FORMAT_VERSION:
            raise InvalidInputError(f"unsupported scene format {manifest.get('format')!r} version {version!r} "
                                    f"(this reader knows {FORMAT!r} up to version {FORMAT_VERSION})")
    return manifest


def _parse_room(entry: Any) -> Room:
    entry = _mapping(entry, "a room")
    name = str(_field(entry, "name"))
    corners = [tuple(float(v) for v in _field(entry, key)) for key in ("min_xy", "max_xy")]
    if any(len(c) != 2 for c in corners):
        raise InvalidInputError(f"min_xy and max_xy need 2 numbers each, got {corners}")
    return Room(name, str(entry.get("type", name)), *corners)  # type: ignore[arg-type]


def _parse_object(directory: Path, entry: dict[str, Any], next_id: int) -> SceneObject:
    label = entry.get("label")
    kind = None if entry.get("kind") is None else ObjectKind(entry["kind"])
    if kind is not ObjectKind.BACKGROUND and (not isinstance(label, str) or not label.strip()):
        raise InvalidInputError(f"has no label ({entry.get('mesh')}); every object needs one")
    mesh = _load_object_mesh(directory, entry)
    kind = kind_for(str(label).strip(), mesh.vertices) if kind is None else kind
    color = entry.get("color") or [int(c) for c in np.median(mesh.face_colors, axis=0)]
    T_world_object = np.asarray(entry.get("pose", np.eye(4).tolist()), dtype=np.float64)
    top = entry.get("support_height")
    description = entry.get("description", "")
    if not isinstance(description, str):
        raise InvalidInputError(f"'description' must be text, got {type(description).__name__}")
    return SceneObject(int(entry.get("instance_id", next_id)), label or "", mesh, T_world_object, tuple(color), kind,
                       str(entry.get("room", "")), int(entry.get("support_id", 0)), None if top is None else float(top),
                       description)


def load_manifest(directory: str | Path) -> Scene:
    """Load a scene saved by ``save_scene`` or written by hand in the same format; every error is an
    ``InvalidInputError`` naming the manifest and the room or object at fault."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise InvalidInputError(f"{directory} has no {MANIFEST}")
    manifest = _read_manifest(path)
    with _naming(str(path)):
        room_entries, object_entries = _list(manifest, "rooms"), _list(manifest, "objects")
        categories = {str(k): int(v) for k, v in _mapping(manifest.get("categories", {}), "'categories'").items()}
        floor_z, seed = float(manifest.get("floor_z", 0.0)), manifest.get("seed")
        if seed is not None:
            non_negative_int(seed, "'seed'")
    rooms = []
    for k, entry in enumerate(room_entries):
        with _naming(f"{path} room #{k}"):
            rooms.append(_parse_room(entry))
    scene = Scene(rooms=rooms, floor_z=floor_z, seed=seed)
    scene.categories.update(categories)
    for k, entry in enumerate(object_entries):
        with _naming(f"{path} object #{k}"):
            scene.add(_parse_object(directory, _mapping(entry, "an object"), scene.next_instance_id()))
    scene.version = 0
    return scene


def load_scene(spec: str | int | Path, apartment: ApartmentConfig | None = None,
               agent: AgentConfig | None = None) -> Scene:
    """A scene from a seed (procedural apartment), a saved scene directory, a Replica scene directory, or
    an HM3D ``*.semantic.glb`` (with its ``*.semantic.txt`` beside it)."""
    from sim.apartment import generate_apartment

    text = str(spec).strip()
    if isinstance(spec, int) or text.lstrip("+-").isdigit():
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
