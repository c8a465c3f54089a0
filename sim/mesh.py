"""Triangle meshes with colour, and the primitives procedural objects are built from (pure numpy).

Frames: a mesh is expressed in its object's local frame, z up, metres. Primitives are built with their
origin at the centre of their bottom face, so an object rests on a surface at its pose's translation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mem3d.errors import InvalidInputError

RGB = tuple[int, int, int]


@dataclass
class TriMesh:
    """An indexed triangle mesh.

    Colour comes from, in order of precedence: ``texture`` sampled at ``triangle_uvs`` (OBJ convention,
    v = 0 at the bottom row), ``vertex_colors`` interpolated across the triangle, or ``face_colors``
    (always present; the mean colour for textured or vertex-coloured meshes).
    """

    vertices: np.ndarray
    """(N, 3) float64 positions, metres."""
    triangles: np.ndarray
    """(M, 3) int32 vertex indices."""
    face_colors: np.ndarray
    """(M, 3) uint8 RGB per triangle."""
    vertex_colors: np.ndarray | None = None
    """Optional (N, 3) uint8 RGB per vertex."""
    triangle_uvs: np.ndarray | None = None
    """Optional (M, 3, 2) float32 texture coordinates per triangle corner."""
    texture: np.ndarray | None = None
    """Optional (H, W, 3) uint8 RGB texture image."""

    def __post_init__(self) -> None:
        self.vertices = np.ascontiguousarray(self.vertices, dtype=np.float64).reshape(-1, 3)
        self.triangles = np.ascontiguousarray(self.triangles, dtype=np.int32).reshape(-1, 3)
        self.face_colors = np.ascontiguousarray(self.face_colors, dtype=np.uint8).reshape(-1, 3)
        n, m = len(self.vertices), len(self.triangles)
        if m == 0:
            raise InvalidInputError("a mesh needs at least one triangle")
        if not np.isfinite(self.vertices).all():
            raise InvalidInputError("mesh vertices contain non-finite values")
        if self.triangles.min() < 0 or self.triangles.max() >= n:
            raise InvalidInputError(f"triangle indices must lie in [0, {n}), got "
                                    f"[{self.triangles.min()}, {self.triangles.max()}]")
        if len(self.face_colors) != m:
            raise InvalidInputError(f"need one face colour per triangle ({m}), got {len(self.face_colors)}")
        if self.vertex_colors is not None:
            self.vertex_colors = np.ascontiguousarray(self.vertex_colors, dtype=np.uint8).reshape(-1, 3)
            if len(self.vertex_colors) != n:
                raise InvalidInputError(f"need one vertex colour per vertex ({n}), got {len(self.vertex_colors)}")
        if (self.texture is None) != (self.triangle_uvs is None):
            raise InvalidInputError("a texture needs triangle_uvs and triangle_uvs need a texture")
        if self.texture is not None:
            self.texture = np.ascontiguousarray(self.texture, dtype=np.uint8)
            self.triangle_uvs = np.ascontiguousarray(self.triangle_uvs, dtype=np.float32).reshape(m, 3, 2)
            if self.texture.ndim != 3 or self.texture.shape[2] != 3 or min(self.texture.shape[:2]) == 0:
                raise InvalidInputError(f"texture must be (H, W, 3), got {self.texture.shape}")

    @property
    def n_triangles(self) -> int:
        return len(self.triangles)

    def texture_at(self, uv: np.ndarray) -> np.ndarray:
        """Nearest texel (n, 3) uint8 at texture coordinates ``uv`` (n, 2): u = 0 at the left column,
        v = 0 at the bottom row (OBJ convention; image row 0 is the top of the texture)."""
        height, width = self.texture.shape[:2]  # type: ignore[union-attr]
        col = np.clip(np.floor(uv[:, 0] * width), 0, width - 1).astype(np.int64)
        row = np.clip(np.floor((1.0 - uv[:, 1]) * height), 0, height - 1).astype(np.int64)
        return self.texture[row, col]  # type: ignore[index]

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned (min, max) corners of the vertices, metres."""
        return self.vertices.min(axis=0), self.vertices.max(axis=0)

    def transformed(self, T: np.ndarray) -> TriMesh:
        """A copy with vertices mapped by the 4x4 rigid transform ``T``."""
        vertices = self.vertices @ T[:3, :3].T + T[:3, 3]
        return TriMesh(vertices, self.triangles.copy(), self.face_colors.copy(),
                       None if self.vertex_colors is None else self.vertex_colors.copy(),
                       None if self.triangle_uvs is None else self.triangle_uvs.copy(),
                       None if self.texture is None else self.texture.copy())

    def equals(self, other: TriMesh) -> bool:
        """Exact equality of every array (used to check that saved scenes reload identically)."""
        def same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
            return (a is None and b is None) or (a is not None and b is not None and a.shape == b.shape
                                                 and np.array_equal(a, b))
        return all(same(getattr(self, f), getattr(other, f)) for f in
                   ("vertices", "triangles", "face_colors", "vertex_colors", "triangle_uvs", "texture"))


def merge(meshes: Sequence[TriMesh]) -> TriMesh:
    """Concatenate flat-coloured meshes into one (vertex colours and textures are dropped)."""
    if not meshes:
        raise InvalidInputError("nothing to merge")
    offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
    return TriMesh(np.concatenate([m.vertices for m in meshes]),
                   np.concatenate([m.triangles + o for m, o in zip(meshes, offsets)]),
                   np.concatenate([m.face_colors for m in meshes]))


def _colored(vertices: np.ndarray, triangles: np.ndarray, color: RGB) -> TriMesh:
    return TriMesh(vertices, triangles, np.tile(np.asarray(color, dtype=np.uint8), (len(triangles), 1)))


_BOX_FACES = np.array([[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4],
                       [1, 2, 6], [1, 6, 5], [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7]], dtype=np.int32)


def box(size: Sequence[float], color: RGB, center: Sequence[float] = (0.0, 0.0, 0.0)) -> TriMesh:
    """Axis-aligned box of ``size`` (x, y, z) metres; its bottom face is centred on ``center``."""
    sx, sy, sz = (float(s) for s in size)
    if min(sx, sy, sz) <= 0:
        raise InvalidInputError(f"box size must be positive, got {tuple(size)}")
    x0, y0 = -sx / 2, -sy / 2
    corners = np.array([[x0, y0, 0], [-x0, y0, 0], [-x0, -y0, 0], [x0, -y0, 0],
                        [x0, y0, sz], [-x0, y0, sz], [-x0, -y0, sz], [x0, -y0, sz]], dtype=np.float64)
    return _colored(corners + np.asarray(center, dtype=np.float64), _BOX_FACES, color)


def box_between(lo: Sequence[float], hi: Sequence[float], color: RGB) -> TriMesh:
    """Axis-aligned box spanning the corners ``lo`` and ``hi`` (metres)."""
    lo_, hi_ = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    return box(hi_ - lo_, color, ((lo_[0] + hi_[0]) / 2, (lo_[1] + hi_[1]) / 2, lo_[2]))


def cylinder(radius: float, height: float, color: RGB, center: Sequence[float] = (0.0, 0.0, 0.0),
             segments: int = 16, top_radius: float | None = None) -> TriMesh:
    """Closed (truncated-cone) cylinder about +z standing on ``center``; ``top_radius`` makes a cone."""
    top = radius if top_radius is None else top_radius
    if radius <= 0 or height <= 0 or top < 0:
        raise InvalidInputError(f"cylinder needs positive radius and height, got {radius}, {height}")
    angles = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    ring = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    bottom = np.column_stack([ring * radius, np.zeros(segments)])
    upper = np.column_stack([ring * top, np.full(segments, height)])
    vertices = np.vstack([bottom, upper, [[0, 0, 0], [0, 0, height]]])
    i = np.arange(segments)
    j = (i + 1) % segments
    c0, c1 = 2 * segments, 2 * segments + 1
    sides = np.concatenate([np.stack([i, j, j + segments], 1), np.stack([i, j + segments, i + segments], 1)])
    caps = np.concatenate([np.stack([np.full(segments, c0), j, i], 1),
                           np.stack([np.full(segments, c1), i + segments, j + segments], 1)])
    return _colored(vertices + np.asarray(center, dtype=np.float64), np.concatenate([sides, caps]), color)


def sphere(radius: float, color: RGB, center: Sequence[float] = (0.0, 0.0, 0.0),
           rings: int = 8, segments: int = 12) -> TriMesh:
    """UV sphere whose lowest point is at ``center``."""
    if radius <= 0:
        raise InvalidInputError(f"sphere radius must be positive, got {radius}")
    theta = np.linspace(0.0, np.pi, rings + 1)[1:-1]
    phi = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    tt, pp = np.meshgrid(theta, phi, indexing="ij")
    body = np.stack([np.sin(tt) * np.cos(pp), np.sin(tt) * np.sin(pp), np.cos(tt)], -1).reshape(-1, 3)
    vertices = np.vstack([[0, 0, 1], body, [0, 0, -1]]) * radius + [0, 0, radius]
    top, last = 0, len(vertices) - 1
    grid = 1 + np.arange((rings - 1) * segments).reshape(rings - 1, segments)
    right = np.roll(grid, -1, axis=1)
    quads = [np.stack([grid[:-1], grid[1:], right[1:]], -1), np.stack([grid[:-1], right[1:], right[:-1]], -1)]
    faces = np.concatenate([np.stack([np.full(segments, top), grid[0], right[0]], 1),
                            *(q.reshape(-1, 3) for q in quads),
                            np.stack([np.full(segments, last), right[-1], grid[-1]], 1)])
    return _colored(vertices + np.asarray(center, dtype=np.float64), faces, color)
