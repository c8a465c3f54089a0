"""Helpers of the simulator tests: find a view of an object, write small GLB files."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from sim.agent import AgentState
from sim.embedded import EmbeddedSimSource


def best_view(source: EmbeddedSimSource, instance_id: int, min_pixels: int = 15,
              seed: int = 0) -> AgentState | None:
    """An agent state from which ``instance_id`` covers the most pixels (None if no view shows it)."""
    target = source.scene.get(instance_id)
    lo, hi = target.world_bounds()
    centre = (lo + hi) / 2
    grid = source.navigation.grid
    rng = np.random.default_rng(seed)
    best, best_count = None, min_pixels - 1
    camera_z = source.scene.floor_z + source.config.camera.height_m
    for _ in range(60):
        xy = grid.random_point(rng)
        offset = centre[:2] - xy
        distance = float(np.linalg.norm(offset))
        if not 0.7 < distance < 3.5:
            continue
        state = AgentState(float(xy[0]), float(xy[1]), float(np.arctan2(offset[1], offset[0])),
                           float(np.clip(np.arctan2(centre[2] - camera_z, distance), -1.0, 1.0)))
        source.set_state(state)
        count = int((source.observe().instance == instance_id).sum())
        if count > best_count:
            best, best_count = state, count
    return best


def write_glb(path: Path, vertices: np.ndarray, triangles: np.ndarray, colors: np.ndarray | None = None,
              uvs: np.ndarray | None = None, texture: np.ndarray | None = None) -> None:
    """A minimal glTF 2.0 binary: one mesh, float positions, uint32 indices, optional float COLOR_0, optional
    TEXCOORD_0 ``uvs`` (glTF convention: v = 0 at the top row) with an RGB uint8 ``texture`` stored as PNG."""
    import cv2

    chunks = [np.asarray(triangles, dtype="<u4").tobytes(), np.asarray(vertices, dtype="<f4").tobytes()]
    primitive: dict = {"attributes": {"POSITION": 1}, "indices": 0}
    accessors = [{"bufferView": 0, "componentType": 5125, "count": int(np.size(triangles)), "type": "SCALAR"},
                 {"bufferView": 1, "componentType": 5126, "count": len(vertices), "type": "VEC3",
                  "min": np.min(vertices, 0).tolist(), "max": np.max(vertices, 0).tolist()}]
    document: dict = {"asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0}],
                      "meshes": [{"primitives": [primitive]}], "accessors": accessors}
    if colors is not None:
        primitive["attributes"]["COLOR_0"] = len(chunks)
        accessors.append({"bufferView": len(chunks), "componentType": 5126, "count": len(vertices), "type": "VEC3"})
        chunks.append(np.asarray(colors, dtype="<f4").tobytes())
    if texture is not None:
        primitive["attributes"]["TEXCOORD_0"] = len(chunks)
        accessors.append({"bufferView": len(chunks), "componentType": 5126, "count": len(vertices), "type": "VEC2"})
        chunks.append(np.asarray(uvs, dtype="<f4").tobytes())
        primitive["material"] = 0
        document.update({"materials": [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}],
                         "textures": [{"source": 0, "sampler": 0}],
                         "samplers": [{"magFilter": 9728, "minFilter": 9728}],  # nearest
                         "images": [{"bufferView": len(chunks), "mimeType": "image/png"}]})
        chunks.append(cv2.imencode(".png", np.ascontiguousarray(texture[..., ::-1]))[1].tobytes())
    views, binary = [], b""
    for chunk in chunks:
        views.append({"buffer": 0, "byteOffset": len(binary), "byteLength": len(chunk)})
        binary += chunk + b"\0" * (-len(chunk) % 4)
    document.update({"bufferViews": views, "buffers": [{"byteLength": len(binary)}]})
    text = json.dumps(document).encode()
    text += b" " * (-len(text) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    Path(path).write_bytes(struct.pack("<III", 0x46546C67, 2, total) + struct.pack("<II", len(text), 0x4E4F534A)
                           + text + struct.pack("<II", len(binary), 0x004E4942) + binary)


def top_red_bottom_green(size: int = 8) -> np.ndarray:
    """(size, size, 3) uint8 RGB texture: the top half red, the bottom half green."""
    image = np.zeros((size, size, 3), dtype=np.uint8)
    image[: size // 2] = (255, 0, 0)
    image[size // 2:] = (0, 255, 0)
    return image
