"""CPU ray casting (open3d) of a scene into RGB, z-depth, semantic and instance images.

Frames: rays are cast from a pinhole camera whose pose ``T_world_camera`` follows the OpenCV optical
convention (x right, y down, z forward); pixel rays come from ``mem3d.geometry`` (pixel (u, v) has its
centre at integer coordinates). Depth is float32 z-depth in metres (0 = no hit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mem3d.errors import InvalidInputError
from mem3d.geometry import image_pixels, pixel_rays
from mem3d.types import CameraIntrinsics
from mem3d.validation import require_rigid_pose
from sim.config import CameraConfig
from sim.scene import ObjectKind, Scene

MISS = np.uint32(4294967295)
_AMBIENT, _HEADLIGHT, _SUN = 0.35, 0.45, 0.20
_SUN_DIR = np.array([0.36, 0.24, 0.90]) / np.linalg.norm([0.36, 0.24, 0.90])


@dataclass
class RenderedFrame:
    """Images of one camera view (H x W)."""

    rgb: np.ndarray
    """uint8 (H, W, 3)."""
    depth: np.ndarray
    """float32 (H, W) z-depth, metres, 0 = no hit."""
    semantic: np.ndarray
    """int32 (H, W) category id, 0 = none."""
    instance: np.ndarray
    """int32 (H, W) instance id, 0 = none."""


class _Tables:
    """One merged ray casting mesh and per-triangle lookup tables (the last row answers for misses)."""

    def __init__(self, scene: Scene, threads: int):
        import open3d as o3d

        objects = sorted(scene, key=lambda o: o.instance_id)
        if not objects:
            raise InvalidInputError("cannot render an empty scene")
        meshes = [o.world_mesh() for o in objects]
        counts = np.array([m.n_triangles for m in meshes], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(counts)])
        owner = np.repeat(np.arange(len(objects)), counts)
        vertex_offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
        vertices = np.concatenate([m.vertices for m in meshes]).astype(np.float32)
        triangles = np.concatenate([m.triangles + o for m, o in zip(meshes, vertex_offsets)]).astype(np.uint32)
        self.raycaster = o3d.t.geometry.RaycastingScene(nthreads=threads)
        self.raycaster.add_triangles(o3d.core.Tensor(vertices), o3d.core.Tensor(triangles))
        is_background = np.array([o.kind is ObjectKind.BACKGROUND for o in objects] + [True])
        ids = np.array([o.instance_id for o in objects] + [0], dtype=np.int32)
        sems = np.array([scene.categories.get(o.label, 0) for o in objects] + [0], dtype=np.int32)
        owner = np.append(owner, len(objects))
        self.instance = np.where(is_background, 0, ids)[owner].astype(np.int32)
        self.semantic = np.where(is_background, 0, sems)[owner].astype(np.int32)
        self.colors = np.concatenate([m.face_colors for m in meshes] + [np.zeros((1, 3), np.uint8)])
        corners = vertices[triangles.astype(np.int64)]
        normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
        self.normals = np.concatenate([normals, np.zeros((1, 3), np.float32)])
        self.detailed = [(int(self.offsets[i]), m) for i, m in enumerate(meshes)
                         if m.vertex_colors is not None or m.texture is not None]
        self.n_triangles = int(self.offsets[-1])

    def shade(self, forward: np.ndarray) -> np.ndarray:
        """(T + 1,) Lambert factor per triangle: ambient + headlight along ``forward`` + a fixed sun."""
        return (_AMBIENT + _HEADLIGHT * np.abs(self.normals @ forward.astype(np.float32))
                + _SUN * np.abs(self.normals @ _SUN_DIR.astype(np.float32)))


class Renderer:
    """Renders a ``Scene``; rebuilds its ray casting scene when ``scene.version`` changes."""

    def __init__(self, scene: Scene, threads: int = 0):
        self.scene = scene
        self.threads = threads
        self._tables: _Tables | None = None
        self._version = -1
        self._ray_cache: tuple[CameraIntrinsics, np.ndarray, np.ndarray] | None = None

    def _current(self) -> _Tables:
        if self._tables is None or self._version != self.scene.version:
            self._tables = _Tables(self.scene, self.threads)
            self._version = self.scene.version
        return self._tables

    def _rays(self, intrinsics: CameraIntrinsics, T_world_camera: np.ndarray) -> np.ndarray:
        """(H, W, 6) float32 rays: origin, then direction R @ (x/z, y/z, 1) so the hit distance is z-depth."""
        if self._ray_cache is None or self._ray_cache[0] != intrinsics:
            camera = pixel_rays(intrinsics, *image_pixels(intrinsics)).astype(np.float32)
            buffer = np.empty((intrinsics.height, intrinsics.width, 6), dtype=np.float32)
            self._ray_cache = (intrinsics, np.stack([camera[..., 0], camera[..., 1]]), buffer)
        _, (uu, vv), rays = self._ray_cache
        rotation = T_world_camera[:3, :3].astype(np.float32)
        rays[..., :3] = T_world_camera[:3, 3]
        for k in range(3):  # per component: far faster than an (N, 3) @ (3, 3) matmul
            rays[..., 3 + k] = uu * rotation[k, 0] + vv * rotation[k, 1] + rotation[k, 2]
        return rays

    def render(self, intrinsics: CameraIntrinsics, T_world_camera: np.ndarray) -> RenderedFrame:
        """Cast one ray per pixel and shade the hits (Lambert: ambient + headlight + a fixed sun)."""
        import open3d as o3d

        T_world_camera = require_rigid_pose("T_world_camera", np.asarray(T_world_camera, dtype=np.float64))
        tables = self._current()
        rays = self._rays(intrinsics, T_world_camera)
        hits = tables.raycaster.cast_rays(o3d.core.Tensor.from_numpy(rays), nthreads=self.threads)
        triangle = np.minimum(hits["primitive_ids"].numpy(), np.uint32(tables.n_triangles))
        depth = hits["t_hit"].numpy()
        depth[triangle == tables.n_triangles] = 0.0
        shade = tables.shade(T_world_camera[:3, 2])
        lit = np.clip(tables.colors * shade[:, None], 0, 255).astype(np.uint8)
        rgb = np.take(lit, triangle, axis=0)
        if tables.detailed:
            self._detail(tables, triangle, hits["primitive_uvs"].numpy(), shade, rgb)
        return RenderedFrame(rgb, depth.astype(np.float32, copy=False), tables.semantic[triangle],
                             tables.instance[triangle])

    @staticmethod
    def _detail(tables: _Tables, triangle: np.ndarray, uvs: np.ndarray, shade: np.ndarray,
                rgb: np.ndarray) -> None:
        """Replace flat colours by interpolated vertex colours or texture samples where meshes have them."""
        for offset, mesh in tables.detailed:
            mask = (triangle >= offset) & (triangle < offset + mesh.n_triangles)
            if not mask.any():
                continue
            tri = triangle[mask].astype(np.int64) - offset
            b1, b2 = uvs[mask, 0:1], uvs[mask, 1:2]
            weights = (1.0 - b1 - b2, b1, b2)
            if mesh.texture is not None:
                corner = mesh.triangle_uvs[tri]  # (n, 3, 2)
                uv = sum(wk * corner[:, k] for k, wk in enumerate(weights))
                base = mesh.texture_at(uv).astype(np.float32)
            else:
                corner = mesh.vertex_colors[mesh.triangles[tri]].astype(np.float32)  # (n, 3, 3)
                base = sum(wk * corner[:, k] for k, wk in enumerate(weights))
            rgb[mask] = np.clip(base * shade[tri + offset][:, None], 0, 255).astype(np.uint8)


def degrade_depth(depth: np.ndarray, camera: CameraConfig, rng: np.random.Generator) -> np.ndarray:
    """Apply the camera's depth imperfections: noise growing with z^2, dropped pixels, a range limit."""
    out = depth.copy()
    valid = out > 0
    if camera.depth_noise_std_m > 0:
        noise = rng.standard_normal(out.shape).astype(np.float32)
        out[valid] += noise[valid] * np.float32(camera.depth_noise_std_m) * out[valid] ** 2
        out[out <= 0] = 0.0
    if camera.depth_missing_fraction > 0:
        out[rng.random(out.shape) < camera.depth_missing_fraction] = 0.0
    if camera.max_depth_m > 0:
        out[out > camera.max_depth_m] = 0.0
    return out


def observed_depth(depth: np.ndarray, camera: CameraConfig, episode_seed: int, obs_id: int) -> np.ndarray:
    """Depth (float32 metres) as the configured camera reports frame ``obs_id``: ``degrade_depth`` seeded by
    (episode seed, observation id), so it is deterministic; ``depth`` itself when the camera is perfect."""
    if camera.depth_noise_std_m > 0 or camera.depth_missing_fraction > 0 or camera.max_depth_m > 0:
        return degrade_depth(depth, camera, np.random.default_rng([episode_seed, obs_id]))
    return depth
