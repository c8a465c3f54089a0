"""External meshes: single objects (.obj / .ply / .glb / .gltf / .off) and labelled scene meshes
(Replica's ``mesh_semantic.ply`` + ``info_semantic.json``, HM3D's ``*.semantic.glb`` + ``*.semantic.txt``).

Frames: our world is z up, metres. glTF files are y up by specification, so ``.glb`` / ``.gltf`` are
rotated to z up by default (``up_axis="y"``); other formats are taken as z up. Override with ``up_axis``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from mem3d.errors import InvalidInputError
from sim.mesh import TriMesh
from sim.obj import MeshArrays, read_obj
from sim.ply import faces_to_triangles, read_ply
from sim.scene import ObjectKind, Scene, SceneObject

MESH_SUFFIXES = (".obj", ".ply", ".glb", ".gltf", ".off")
STRUCTURE_LABELS = {"wall", "floor", "ceiling", "stairs", "door frame", "window frame", "beam", "column"}
SMALL_OBJECT_SIZE_M = 0.5
"""Scanned objects whose largest extent is below this are treated as small (movable) objects."""
DEFAULT_COLOR = (180, 180, 180)
Y_UP_TO_Z_UP = np.array([[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
"""Rotation from a y-up, -z-forward frame (glTF, Habitat) to ours: x = -z', y = -x', z = y'. The same
mapping serves the Habitat adapter, so scenes loaded here and poses from Habitat agree."""


def _up_rotation(path: Path, up_axis: str | None) -> np.ndarray:
    axis = up_axis or ("y" if path.suffix.lower() in (".glb", ".gltf") else "z")
    if axis not in ("y", "z"):
        raise InvalidInputError(f"up_axis must be 'y' or 'z', got {up_axis!r}")
    return Y_UP_TO_Z_UP if axis == "y" else np.eye(3)


def _check_file(path: Path, suffixes: tuple[str, ...]) -> None:
    if not path.is_file():
        raise InvalidInputError(f"mesh file {path} does not exist")
    if not path.name.lower().endswith(suffixes):
        raise InvalidInputError(f"unsupported mesh file {path.name}: expected one of {', '.join(suffixes)}")


def _open3d_textures(legacy) -> list[np.ndarray]:
    """The texture images of an open3d mesh, top row first. open3d hands them over bottom row first
    (OpenGL's layout) with OBJ-convention uvs, for .obj and glTF alike; ``TriMesh`` wants row 0 on top."""
    images = [np.asarray(t) for t in legacy.textures]
    return [np.ascontiguousarray(np.flipud(image)) if image.ndim >= 2 else image for image in images]


def _texture_atlas(textures: list[np.ndarray], material: np.ndarray,
                   uvs: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Stack the used textures into one image and remap each triangle's uvs (OBJ convention, v up)."""
    used = sorted({int(m) for m in np.unique(material) if 0 <= m < len(textures) and textures[m].size})
    if not used:
        return None
    images = [textures[m][..., :3] if textures[m].ndim == 3 else np.repeat(textures[m][..., None], 3, 2)
              for m in used]
    width, total = max(i.shape[1] for i in images), sum(i.shape[0] for i in images)
    atlas = np.zeros((total, width, 3), dtype=np.uint8)
    remapped = uvs.copy()
    row = 0
    for m, image in zip(used, images):
        h, w = image.shape[:2]
        atlas[row:row + h, :w] = image.astype(np.uint8)
        sel = material == m
        remapped[sel, :, 0] = uvs[sel, :, 0] * (w / width)
        remapped[sel, :, 1] = 1.0 - (row + (1.0 - uvs[sel, :, 1]) * h) / total
        row += h
    return atlas, remapped


def load_mesh(path: str | Path, up_axis: str | None = None, scale: float = 1.0,
              color: tuple[int, int, int] | None = None) -> TriMesh:
    """Read a mesh file with its vertex colours or textures; ``color`` paints an uncoloured mesh.

    ``.obj`` files are read by ``sim.obj`` (polygons triangulated, missing materials or textures an
    error); the other formats by open3d."""
    path = Path(path)
    _check_file(path, MESH_SUFFIXES)
    if not np.isfinite(scale) or scale <= 0:
        raise InvalidInputError(f"mesh scale must be positive, got {scale}")
    parts = read_obj(path) if path.suffix.lower() == ".obj" else _read_open3d(path)
    vertices = parts.vertices @ _up_rotation(path, up_axis).T * scale
    triangles = parts.triangles
    face = np.tile(np.asarray(color or DEFAULT_COLOR, dtype=np.uint8), (len(triangles), 1))
    if parts.face_colors is not None:
        face = parts.face_colors
    if parts.vertex_colors is not None:
        face = parts.vertex_colors[triangles].astype(np.float64).mean(axis=1).round().astype(np.uint8)
    mesh = TriMesh(vertices, triangles, face, parts.vertex_colors if parts.texture is None else None,
                   parts.triangle_uvs, parts.texture)
    if mesh.texture is not None:
        mesh.face_colors = mesh.texture_at(mesh.triangle_uvs.mean(axis=1))  # type: ignore[union-attr]
    return mesh


def _missing_gltf_images(path: Path) -> list[str]:
    """External image files a ``.gltf`` names that do not exist (a ``.glb`` embeds its images)."""
    if path.suffix.lower() != ".gltf":
        return []
    try:
        images = json.loads(path.read_text(errors="replace")).get("images", [])
    except (json.JSONDecodeError, AttributeError):
        return []
    uris = [str(i.get("uri", "")) for i in images if isinstance(i, dict)]
    return [u for u in uris if u and not u.startswith("data:") and not (path.parent / u).is_file()]


def _read_open3d(path: Path) -> MeshArrays:
    """A mesh file read by open3d (.ply, .glb, .gltf, .off), as the arrays ``load_mesh`` needs."""
    import open3d as o3d

    legacy = o3d.io.read_triangle_mesh(str(path), enable_post_processing=False)
    triangles = np.asarray(legacy.triangles, dtype=np.int64)
    if len(triangles) == 0:
        raise InvalidInputError(f"{path} has no triangles (not a mesh, or a format open3d cannot read)")
    vertex_colors = None
    if legacy.has_vertex_colors():
        vertex_colors = np.round(np.clip(np.asarray(legacy.vertex_colors), 0, 1) * 255).astype(np.uint8)
    texture = uvs = None
    if legacy.has_triangle_uvs() and len(legacy.textures):
        material = np.asarray(legacy.triangle_material_ids) if legacy.has_triangle_material_ids() \
            else np.zeros(len(triangles), dtype=np.int64)
        textures = _open3d_textures(legacy)
        unread = sorted({int(m) for m in np.unique(material) if 0 <= m < len(textures) and textures[m].ndim < 2})
        if unread:
            missing = _missing_gltf_images(path)
            raise InvalidInputError(f"{path}: the texture image(s) of material(s) {unread} could not be read"
                                    + (f" ({', '.join(missing)} missing)" if missing else ""))
        atlas = _texture_atlas(textures, material, np.asarray(legacy.triangle_uvs, dtype=np.float32).reshape(-1, 3, 2))
        if atlas is not None:
            texture, uvs = atlas
    return MeshArrays(np.asarray(legacy.vertices, dtype=np.float64), triangles, vertex_colors, None, uvs, texture)


def mesh_object(path: str | Path, label: str, T_world_object: np.ndarray, instance_id: int,
                kind: ObjectKind | None = None, up_axis: str | None = None, scale: float = 1.0,
                room: str = "", description: str = "", support_height: float | None = None) -> SceneObject:
    """An object from a mesh file, placed at ``T_world_object``; every external mesh needs a category label.

    ``kind`` None = by size (``kind_for``: small under ``SMALL_OBJECT_SIZE_M``, else furniture);
    ``description`` (a few words, "cup") is embedded with the label by ground-truth perception ("" =
    the category table's, if any); ``support_height`` (metres above the object's origin) lets small
    objects rest on it."""
    if not isinstance(label, str) or not label.strip():
        raise InvalidInputError(f"mesh {path} needs a label (a category such as 'chair'); none was given")
    mesh = load_mesh(path, up_axis, scale)
    color = tuple(int(c) for c in np.median(mesh.face_colors, axis=0))
    kind = kind_for(label.strip(), mesh.vertices) if kind is None else ObjectKind(kind)
    return SceneObject(instance_id, label.strip(), mesh, T_world_object, color, kind, room,  # type: ignore[arg-type]
                       support_height=support_height, description=description)


def kind_for(label: str, vertices: np.ndarray) -> ObjectKind:
    """The kind of an object from its label and size: structure labels (walls, floors), small under
    ``SMALL_OBJECT_SIZE_M`` (largest extent of ``vertices``, metres), else furniture."""
    if label in STRUCTURE_LABELS:
        return ObjectKind.STRUCTURE
    extent = vertices.max(axis=0) - vertices.min(axis=0)
    return ObjectKind.SMALL if extent.max() < SMALL_OBJECT_SIZE_M else ObjectKind.FURNITURE


def scene_from_labelled_faces(vertices: np.ndarray, triangles: np.ndarray, face_ids: np.ndarray,
                              labels: Mapping[int, str], face_colors: np.ndarray,
                              vertex_colors: np.ndarray | None = None) -> Scene:
    """Split one scene mesh into objects by per-triangle id; ids without a label become background."""
    scene = Scene()
    named = [int(i) for i in np.unique(face_ids) if int(i) > 0 and labels.get(int(i), "").strip()]
    unlabelled = ~np.isin(face_ids, named)
    groups = [(int(i), face_ids == i) for i in np.unique(face_ids[~unlabelled])]
    if unlabelled.any():
        groups.append((0, unlabelled))
    next_free = max([i for i, _ in groups] + [0]) + 1
    for object_id, mask in groups:
        used, local = np.unique(triangles[mask], return_inverse=True)
        mesh = TriMesh(vertices[used], local.reshape(-1, 3), face_colors[mask],
                       None if vertex_colors is None else vertex_colors[used])
        label = labels.get(object_id, "").strip() if object_id else ""
        kind = kind_for(label, mesh.vertices) if object_id else ObjectKind.BACKGROUND
        instance_id = object_id if object_id > 0 else next_free
        color = tuple(int(c) for c in np.median(mesh.face_colors, axis=0))
        scene.add(SceneObject(instance_id, label, mesh, np.eye(4), color, kind))  # type: ignore[arg-type]
    floors = [o.world_bounds()[0][2] for o in scene if o.label == "floor"]
    lows = [o.world_bounds()[0][2] for o in scene]
    scene.floor_z = float(np.median(floors)) if floors else float(min(lows))
    return scene


def read_replica_labels(info_path: Path) -> dict[int, str]:
    """Object id -> label from Replica's ``info_semantic.json`` (``objects`` with ``class_name`` or
    ``class_id``); unlabelled objects are left out."""
    try:
        info = json.loads(info_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InvalidInputError(f"{info_path} is not valid JSON: {error}") from None
    if not isinstance(info, dict):
        raise InvalidInputError(f"{info_path} must hold a JSON object, got {type(info).__name__}")
    labels = {}
    try:
        classes = {int(c["id"]): str(c["name"]) for c in info.get("classes", [])}
        for k, obj in enumerate(info.get("objects", [])):
            if "id" not in obj:
                raise InvalidInputError(f"object #{k} has no 'id'")
            name = obj.get("class_name") or classes.get(int(obj.get("class_id", -1)), "")
            if name and name not in ("undefined", "unlabeled", "unknown"):
                labels[int(obj["id"])] = str(name).replace("-", " ").replace("_", " ")
    except (InvalidInputError, TypeError, ValueError, KeyError, AttributeError) as error:
        raise InvalidInputError(f"{info_path}: malformed classes or objects ({error})") from None
    return labels


def load_replica(directory: str | Path, up_axis: str = "z") -> Scene:
    """A Replica scene: ``habitat/mesh_semantic.ply`` (faces with ``object_id``) + ``habitat/info_semantic.json``."""
    directory = Path(directory)
    ply_path, info_path = directory / "habitat" / "mesh_semantic.ply", directory / "habitat" / "info_semantic.json"
    for needed in (ply_path, info_path):
        if not needed.is_file():
            raise InvalidInputError(f"not a Replica scene: {needed} is missing")
    rotation = _up_rotation(ply_path, up_axis)
    labels = read_replica_labels(info_path)
    ply = read_ply(ply_path)
    face_ids = ply.get("face", "object_id")
    faces = ply.get("face", "vertex_indices")
    if faces is None:
        faces = ply.get("face", "vertex_index")
    if face_ids is None or faces is None:
        raise InvalidInputError(f"{ply_path} has no per-face object_id: cannot label its objects")
    if any(ply.get("vertex", a) is None for a in "xyz"):
        raise InvalidInputError(f"{ply_path} has no vertex x, y, z")
    vertices = np.stack([ply.get("vertex", a) for a in "xyz"], axis=1).astype(np.float64) @ rotation.T
    colors = None
    if ply.get("vertex", "red") is not None:
        colors = np.stack([ply.get("vertex", c) for c in ("red", "green", "blue")], axis=1).astype(np.uint8)
    triangles, source = faces_to_triangles(faces)
    if len(triangles) == 0 or triangles.min() < 0 or triangles.max() >= len(vertices):
        raise InvalidInputError(f"{ply_path}: faces must index its {len(vertices)} vertices, got indices "
                                f"{[int(triangles.min()), int(triangles.max())] if len(triangles) else 'none'}")
    face_colors = colors[triangles].astype(np.float64).mean(axis=1).round().astype(np.uint8) if colors is not None \
        else np.tile(np.asarray(DEFAULT_COLOR, np.uint8), (len(triangles), 1))
    return scene_from_labelled_faces(vertices, triangles, np.asarray(face_ids)[source].astype(np.int64), labels,
                                     face_colors, colors)


def read_hm3d_semantics(path: str | Path) -> dict[str, tuple[int, str]]:
    """Parse an HM3D ``*.semantic.txt``: lines ``id,HEXCOLOR,"category",region`` -> {hex: (id, label)}."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"HM3D semantic annotation file {path} does not exist")
    table = {}
    pattern = re.compile(r'^\s*(\d+)\s*,\s*([0-9A-Fa-f]{6})\s*,\s*"([^"]*)"\s*,')
    for line in path.read_text(errors="replace").splitlines():
        match = pattern.match(line)
        if match:
            table[match.group(2).upper()] = (int(match.group(1)), match.group(3).strip())
    if not table:
        raise InvalidInputError(f"{path} holds no HM3D annotation lines (id,HEX,\"name\",region)")
    return table


def load_hm3d(semantic_glb: str | Path, semantic_txt: str | Path | None = None, up_axis: str = "y") -> Scene:
    """An HM3D-semantics scene: objects are coded by colour in ``*.semantic.glb`` (vertex colours or a
    texture), named in ``*.semantic.txt``. RGB renders show those annotation colours."""
    semantic_glb = Path(semantic_glb)
    if semantic_txt is None:
        semantic_txt = semantic_glb.with_name(semantic_glb.name.replace(".glb", ".txt"))
    table = read_hm3d_semantics(semantic_txt)
    mesh = load_mesh(semantic_glb, up_axis)
    if mesh.vertex_colors is None and mesh.texture is None:
        raise InvalidInputError(f"{semantic_glb} has no colours: cannot find its objects")
    codes = mesh.face_colors.astype(np.int64) @ np.array([1 << 16, 1 << 8, 1])
    by_code = {int(key, 16): object_id for key, (object_id, _) in table.items()}
    unique, inverse = np.unique(codes, return_inverse=True)
    face_ids = np.array([by_code.get(int(c), 0) for c in unique], dtype=np.int64)[inverse.ravel()]
    labels = {i: name for i, name in table.values()}
    return scene_from_labelled_faces(mesh.vertices, mesh.triangles, face_ids, labels, mesh.face_colors)
