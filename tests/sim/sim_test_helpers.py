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
    grid = source.navgrid
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


def write_glb(path: Path, vertices: np.ndarray, triangles: np.ndarray, colors: np.ndarray | None = None) -> None:
    """A minimal glTF 2.0 binary: one mesh, float positions, uint32 indices, optional float COLOR_0."""
    buffers = [np.asarray(triangles, dtype="<u4").tobytes(), np.asarray(vertices, dtype="<f4").tobytes()]
    attributes = {"POSITION": 1}
    accessors = [{"bufferView": 0, "componentType": 5125, "count": int(np.size(triangles)), "type": "SCALAR"},
                 {"bufferView": 1, "componentType": 5126, "count": len(vertices), "type": "VEC3",
                  "min": np.min(vertices, 0).tolist(), "max": np.max(vertices, 0).tolist()}]
    if colors is not None:
        buffers.append(np.asarray(colors, dtype="<f4").tobytes())
        attributes["COLOR_0"] = 2
        accessors.append({"bufferView": 2, "componentType": 5126, "count": len(vertices), "type": "VEC3"})
    views, offset = [], 0
    for chunk in buffers:
        views.append({"buffer": 0, "byteOffset": offset, "byteLength": len(chunk)})
        offset += len(chunk)
    binary = b"".join(buffers)
    document = {"asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0}],
                "meshes": [{"primitives": [{"attributes": attributes, "indices": 0}]}],
                "accessors": accessors, "bufferViews": views, "buffers": [{"byteLength": len(binary)}]}
    text = json.dumps(document).encode()
    text += b" " * (-len(text) % 4)
    binary += b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    Path(path).write_bytes(struct.pack("<III", 0x46546C67, 2, total) + struct.pack("<II", len(text), 0x4E4F534A)
                           + text + struct.pack("<II", len(binary), 0x004E4942) + binary)
