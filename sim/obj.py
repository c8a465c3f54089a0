"""Wavefront OBJ files, read with trimesh: polygon faces triangulated, materials and textures checked.

open3d's OBJ reader drops every face that is not a triangle (a quad model loses most of its surface,
silently); trimesh triangulates quads and n-gons (a fan from each polygon's first corner). Before
reading, every material library (``mtllib``) and texture image (``map_Kd``) the file names must exist:
a missing one is an ``InvalidInputError`` naming it, never an untextured mesh. After reading, the
triangle count must equal what the file's faces give (n - 2 per n-gon), so no face is ever lost unseen.

Frames: the file's own axes, in its own unit; ``sim.mesh_io.load_mesh`` rotates and scales.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mem3d.errors import InvalidInputError, NotAvailableError


@dataclass(frozen=True)
class MeshArrays:
    """The arrays of one mesh file (vertices in the file's frame and unit), as the readers return them."""

    vertices: np.ndarray
    """(N, 3) float64."""
    triangles: np.ndarray
    """(M, 3) int64 vertex indices."""
    vertex_colors: np.ndarray | None
    """(N, 3) uint8, from ``v x y z r g b`` lines."""
    face_colors: np.ndarray | None
    """(M, 3) uint8 diffuse colours (``Kd``) of untextured materials."""
    triangle_uvs: np.ndarray | None
    """(M, 3, 2) float32, OBJ convention (v = 0 at the bottom of the image)."""
    texture: np.ndarray | None
    """(H, W, 3) uint8, row 0 at the top; several materials' images packed into one."""


def _statements(path: Path, keyword: str) -> list[str]:
    """The arguments of every ``keyword`` line of a text file (OBJ or MTL)."""
    found = []
    for line in path.read_text(errors="replace").splitlines():
        parts = line.strip().split(None, 1)
        if parts and parts[0] == keyword:
            found.append(parts[1].strip() if len(parts) > 1 else "")
    return found


def _texture_file(argument: str) -> str:
    """The file name of a ``map_Kd`` argument: the last token (options such as ``-s 1 1 1`` come first)."""
    return argument.split()[-1] if argument.split() else ""


def check_referenced_files(path: Path) -> None:
    """``InvalidInputError`` naming the first material library or texture image ``path`` names that is missing."""
    for library in _statements(path, "mtllib"):
        mtl = path.parent / library
        if not mtl.is_file():
            raise InvalidInputError(f"{path.name} names material library {library!r}, which does not exist "
                                    f"(looked for {mtl})")
        for argument in _statements(mtl, "map_Kd"):
            image = mtl.parent / _texture_file(argument)
            if not image.is_file():
                raise InvalidInputError(f"{mtl.name} (material library of {path.name}) names texture image "
                                        f"{_texture_file(argument)!r}, which does not exist (looked for {image})")


def declared_triangles(path: Path) -> int:
    """Triangles the faces of an OBJ file make (n - 2 per face of n corners); a face with fewer than 3
    corners is an ``InvalidInputError``."""
    total = 0
    for k, face in enumerate(_statements(path, "f")):
        corners = len(face.split())
        if corners < 3:
            raise InvalidInputError(f"{path.name}: face #{k} has {corners} corner(s); a face needs at least 3")
        total += corners - 2
    return total


def _rgb(colors: np.ndarray) -> np.ndarray:
    return np.asarray(colors)[..., :3].astype(np.uint8)


def read_obj(path: Path) -> MeshArrays:
    """Read an OBJ file with its vertex colours, material colours and textures (see the module notes)."""
    try:
        import trimesh
    except ModuleNotFoundError as error:
        raise NotAvailableError("reading .obj files needs 'trimesh' (pip install 'mem3d[sim]')") from error
    check_referenced_files(path)
    expected = declared_triangles(path)
    if expected == 0:
        raise InvalidInputError(f"{path} has no triangles (no 'f' face lines: not an OBJ mesh)")
    logging.getLogger("trimesh").setLevel(logging.ERROR)  # its notes on unused normals are noise here
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # trimesh's texture packing on colour-only materials
            mesh = trimesh.load(str(path), file_type="obj", force="mesh", process=False, maintain_order=True)
    except (ValueError, IndexError, KeyError, TypeError) as error:
        raise InvalidInputError(f"{path} is not a readable OBJ file: {error}") from None
    triangles = np.asarray(getattr(mesh, "faces", np.empty((0, 3))), dtype=np.int64).reshape(-1, 3)
    if len(triangles) != expected:
        raise InvalidInputError(f"{path}: its faces make {expected} triangles but {len(triangles)} were read; "
                                "refusing to lose faces")
    visual = mesh.visual
    vertex_colors = face_colors = uvs = texture = None
    if visual.kind == "vertex":
        vertex_colors = _rgb(visual.vertex_colors)
    elif visual.kind == "face":
        face_colors = _rgb(visual.face_colors)
    elif visual.kind == "texture" and _statements(path, "mtllib"):  # trimesh invents a material for bare uvs
        image = getattr(visual.material, "image", None)
        if image is not None and getattr(visual, "uv", None) is not None:
            texture = np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
            uvs = np.asarray(visual.uv, dtype=np.float32)[triangles]
        else:
            face_colors = np.tile(_rgb(visual.material.main_color), (len(triangles), 1))
    return MeshArrays(np.asarray(mesh.vertices, dtype=np.float64), triangles, vertex_colors, face_colors, uvs, texture)


def write_obj(path: Path, vertices: np.ndarray, faces: list[list[int]], color: tuple[int, int, int] | None = None,
              uvs: np.ndarray | None = None, texture: np.ndarray | None = None) -> Path:
    """Write an OBJ file of polygon ``faces`` (0-based vertex indices, any number of corners each), with a
    material of diffuse ``color`` or a ``texture`` ((H, W, 3) uint8, row 0 at the top; ``uvs`` (N, 2) per
    vertex, OBJ convention) saved as ``<stem>.png`` beside a ``<stem>.mtl``."""
    path = Path(path)
    lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in np.asarray(vertices, dtype=np.float64)]
    corner = "{0}"
    if color is not None or texture is not None:
        mtl = [f"newmtl {path.stem}"]
        rgb = (255, 255, 255) if color is None else color
        mtl.append("Kd " + " ".join(f"{c / 255:.4f}" for c in rgb))
        if texture is not None:
            import cv2

            cv2.imwrite(str(path.with_suffix(".png")), np.ascontiguousarray(np.asarray(texture)[..., ::-1]))
            mtl.append(f"map_Kd {path.stem}.png")
            lines += [f"vt {u:.6f} {v:.6f}" for u, v in np.asarray(uvs, dtype=np.float64)]
            corner = "{0}/{0}"
        path.with_suffix(".mtl").write_text("\n".join(mtl) + "\n")
        lines = [f"mtllib {path.stem}.mtl", *lines, f"usemtl {path.stem}"]
    lines += ["f " + " ".join(corner.format(i + 1) for i in face) for face in faces]
    path.write_text("\n".join(lines) + "\n")
    return path
