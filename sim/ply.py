"""A small PLY reader that keeps per-face properties (e.g. Replica's ``object_id``), which open3d drops.

Reads ascii, binary_little_endian and binary_big_endian files; list properties (faces) may mix
triangles and quads. Returns plain numpy arrays; units are whatever the file holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mem3d.errors import InvalidInputError

_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
          "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
          "float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}


@dataclass
class _Property:
    name: str
    dtype: str
    count_dtype: str | None = None
    """Set for list properties: the dtype of the item count."""


@dataclass
class PlyData:
    """Elements of a PLY file: scalar properties as 1-D arrays; list properties as (N, k) arrays when every
    list has k items, else as lists of 1-D arrays."""

    elements: dict[str, dict[str, np.ndarray | list[np.ndarray]]]

    def get(self, element: str, prop: str) -> np.ndarray | list[np.ndarray] | None:
        return self.elements.get(element, {}).get(prop)


def _parse_header(raw: bytes, path: Path) -> tuple[str, list[tuple[str, int, list[_Property]]], int]:
    end = raw.find(b"end_header")
    if not raw.startswith(b"ply") or end < 0:
        raise InvalidInputError(f"{path} is not a PLY file (no 'ply' magic or no end_header)")
    body_start = raw.index(b"\n", end) + 1
    fmt, elements = "", []
    for line in raw[:end].decode("ascii", "replace").splitlines()[1:]:
        words = line.split()
        if not words or words[0] in ("comment", "obj_info"):
            continue
        if words[0] == "format":
            fmt = words[1]
        elif words[0] == "element":
            elements.append((words[1], int(words[2]), []))
        elif words[0] == "property" and elements:
            try:
                if words[1] == "list":
                    elements[-1][2].append(_Property(words[4], _TYPES[words[3]], _TYPES[words[2]]))
                else:
                    elements[-1][2].append(_Property(words[2], _TYPES[words[1]]))
            except (KeyError, IndexError):
                raise InvalidInputError(f"{path}: unsupported PLY property line {line!r}") from None
    if fmt not in ("ascii", "binary_little_endian", "binary_big_endian"):
        raise InvalidInputError(f"{path}: unsupported PLY format {fmt!r}")
    return fmt, elements, body_start


def _read_binary(body: memoryview, offset: int, count: int, props: list[_Property], order: str,
                 path: Path) -> tuple[dict, int]:
    if all(p.count_dtype is None for p in props):
        dtype = np.dtype([(p.name, order + p.dtype) for p in props])
        data = np.frombuffer(body, dtype=dtype, count=count, offset=offset)
        return {p.name: data[p.name].copy() for p in props}, offset + count * dtype.itemsize
    # list properties: assume a constant list length (all triangles or all quads), verify, else go slow
    if count:
        lists = [i for i, p in enumerate(props) if p.count_dtype is not None]
        before = sum(np.dtype(p.dtype).itemsize for p in props[:lists[0]])
        n = int(np.frombuffer(body, dtype=order + props[lists[0]].count_dtype, count=1, offset=offset + before)[0])
        fields = []
        for p in props:
            if p.count_dtype is None:
                fields.append((p.name, order + p.dtype))
            else:
                fields += [(p.name + "__n", order + p.count_dtype), (p.name, order + p.dtype, (n,))]
        dtype = np.dtype(fields)
        if offset + count * dtype.itemsize <= len(body):
            data = np.frombuffer(body, dtype=dtype, count=count, offset=offset)
            if all(np.all(data[p.name + "__n"] == n) for p in props if p.count_dtype is not None):
                return {p.name: data[p.name].copy() for p in props}, \
                    offset + count * dtype.itemsize
    columns: dict[str, list] = {p.name: [] for p in props}
    for _ in range(count):
        for p in props:
            if p.count_dtype is None:
                value = np.frombuffer(body, dtype=order + p.dtype, count=1, offset=offset)[0]
                offset += np.dtype(p.dtype).itemsize
                columns[p.name].append(value)
            else:
                n = int(np.frombuffer(body, dtype=order + p.count_dtype, count=1, offset=offset)[0])
                offset += np.dtype(p.count_dtype).itemsize
                columns[p.name].append(np.frombuffer(body, dtype=order + p.dtype, count=n, offset=offset).copy())
                offset += n * np.dtype(p.dtype).itemsize
    return {p.name: (_pack(columns[p.name], p.dtype) if p.count_dtype else np.array(columns[p.name], dtype=p.dtype))
            for p in props}, offset


def _pack(items: list[np.ndarray], dtype: str) -> np.ndarray | list[np.ndarray]:
    """(N, k) array when every list has the same length k, else the list itself."""
    if items and all(len(i) == len(items[0]) for i in items):
        return np.array(items, dtype=dtype).reshape(len(items), -1)
    return items


def read_ply(path: str | Path) -> PlyData:
    """Parse a PLY file; raises ``InvalidInputError`` on anything malformed or truncated."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"PLY file {path} does not exist")
    raw = path.read_bytes()
    fmt, elements, start = _parse_header(raw, path)
    result: dict[str, dict] = {}
    try:
        if fmt == "ascii":
            tokens = iter(raw[start:].split())
            for name, count, props in elements:
                columns: dict[str, list] = {p.name: [] for p in props}
                for _ in range(count):
                    for p in props:
                        if p.count_dtype is None:
                            columns[p.name].append(float(next(tokens)))
                        else:
                            n = int(next(tokens))
                            columns[p.name].append(np.array([float(next(tokens)) for _ in range(n)], p.dtype))
                result[name] = {p.name: (_pack(columns[p.name], p.dtype) if p.count_dtype
                                         else np.array(columns[p.name], p.dtype)) for p in props}
        else:
            order = "<" if fmt == "binary_little_endian" else ">"
            body, offset = memoryview(raw)[start:], 0
            for name, count, props in elements:
                result[name], offset = _read_binary(body, offset, count, props, order, path)
    except (StopIteration, ValueError) as error:
        raise InvalidInputError(f"{path}: truncated or malformed PLY body ({error})") from None
    return PlyData(result)


def faces_to_triangles(faces: np.ndarray | list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Fan-triangulate polygons; returns (M, 3) int64 triangles and (M,) index of the source face."""
    tris, source = [], []
    if isinstance(faces, np.ndarray) and faces.ndim == 2 and faces.shape[1] >= 3:
        polys = faces.astype(np.int64)
        k = faces.shape[1]
        fan = [np.stack([polys[:, 0], polys[:, i], polys[:, i + 1]], axis=1) for i in range(1, k - 1)]
        tris = np.stack(fan, axis=1).reshape(-1, 3)
        return tris, np.repeat(np.arange(len(faces)), k - 2)
    for index, face in enumerate(faces):
        for i in range(1, len(face) - 1):
            tris.append((face[0], face[i], face[i + 1]))
            source.append(index)
    return np.array(tris, dtype=np.int64).reshape(-1, 3), np.array(source, dtype=np.int64)


def write_ply(path: str | Path, vertices: np.ndarray, faces: np.ndarray,
              vertex_colors: np.ndarray | None = None, face_ids: np.ndarray | None = None) -> None:
    """Write a binary little-endian PLY; ``face_ids`` adds an int ``object_id`` face property (Replica style)."""
    vertices = np.asarray(vertices, dtype="<f4")
    faces = np.asarray(faces, dtype="<i4")
    vfields = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
    header = ["ply", "format binary_little_endian 1.0", f"element vertex {len(vertices)}",
              "property float x", "property float y", "property float z"]
    if vertex_colors is not None:
        vfields += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
        header += ["property uchar red", "property uchar green", "property uchar blue"]
    header += [f"element face {len(faces)}", "property list uchar int vertex_indices"]
    ffields = [("n", "u1"), ("vertex_indices", "<i4", (faces.shape[1],))]
    if face_ids is not None:
        header.append("property int object_id")
        ffields.append(("object_id", "<i4"))
    vdata = np.zeros(len(vertices), dtype=vfields)
    vdata["x"], vdata["y"], vdata["z"] = vertices.T
    if vertex_colors is not None:
        vdata["red"], vdata["green"], vdata["blue"] = np.asarray(vertex_colors, dtype=np.uint8).T
    fdata = np.zeros(len(faces), dtype=ffields)
    fdata["n"], fdata["vertex_indices"] = faces.shape[1], faces
    if face_ids is not None:
        fdata["object_id"] = face_ids
    with open(path, "wb") as out:
        out.write(("\n".join(header + ["end_header"]) + "\n").encode("ascii"))
        out.write(vdata.tobytes())
        out.write(fdata.tobytes())
