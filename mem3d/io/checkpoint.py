"""Save and load a ``VoxelMap`` as checkpoints in a directory of zarr v3 groups, crash-safely.

Layout of a store directory::

    CURRENT              name of the checkpoint to load (replaced atomically, last step of a save)
    ckpt-000007/         zarr v3 group: one array per voxel column, the codebook, and attributes
                         (format, schema version, map config, voxel count, a CRC32 per array);
                         the format and its versions are in ``mem3d.io.schema``

A save writes a new checkpoint under a temporary name, flushes it to disk, renames it, and only then
points ``CURRENT`` at it. A crash at any moment leaves ``CURRENT`` naming a complete checkpoint, so
the previous checkpoint stays loadable. Loading verifies every array's shape and checksum, so a
truncated or damaged checkpoint is reported, never loaded as valid but wrong.
"""

from __future__ import annotations

import json
import os
import shutil
import zlib
from pathlib import Path

import numpy as np
import zarr
from zarr.codecs import BloscCodec

from mem3d.config import config_from_dict, config_to_dict
from mem3d.errors import InvalidInputError, SchemaMismatchError, StoreError
from mem3d.io.durable_files import atomic_write_text, fsync_dir, fsync_tree
from mem3d.io.lock import writing
from mem3d.io.schema import FORMAT, SCHEMA_VERSION
from mem3d.voxel_map import MapConfig, MapContents, VoxelMap

CURRENT = "CURRENT"
STAGING = ".staging-"
PREFIX = "ckpt-"
VOXELS = "voxels/"
CODEBOOK = "codebook/"
"""Array name prefixes in a checkpoint: ``voxels/<column>``, ``codebook/<part>``."""
CHUNK_ROWS = 65536
COMPRESSION_LEVEL = 1
"""Blosc's level for its LZ4 codec (``_compressor``)."""


def list_checkpoints(path: str | Path) -> list[str]:
    """Names of the complete checkpoints in a store, oldest first."""
    path = Path(path)
    if not path.is_dir():
        return []
    return sorted(p.name for p in path.iterdir() if p.is_dir() and p.name.startswith(PREFIX))


def save_map(voxel_map: VoxelMap | MapContents, path: str | Path, *, keep: int = 2,
             extra_attrs: dict | None = None, number: int | None = None) -> str:
    """Write a new checkpoint of ``voxel_map`` (or of contents copied from one, ``MapSnapshot``) into
    the store at ``path``.

    Returns the checkpoint's name. Keeps the newest ``keep`` checkpoints. ``extra_attrs``
    (JSON-serialisable) are stored alongside, e.g. the service's log position. ``number`` names the
    checkpoint (default: one more than the newest, from 1). Holds the store's write lock
    (``mem3d.io.lock``) while it saves, unless this process holds it already; ``StoreError`` if
    another process does.
    """
    contents = voxel_map.contents() if isinstance(voxel_map, VoxelMap) else voxel_map
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    with writing(path):
        for leftover in path.glob(f"{STAGING}*"):  # from saves that crashed
            shutil.rmtree(leftover, ignore_errors=True)
        existing = list_checkpoints(path)
        if number is None:
            number = int(existing[-1][len(PREFIX):]) + 1 if existing else 1
        name = f"{PREFIX}{number:06d}"
        staging = path / f"{STAGING}{name}"
        _write_checkpoint(contents, staging, extra_attrs or {})
        fsync_tree(staging)
        os.replace(staging, path / name)
        fsync_dir(path)
        atomic_write_text(path / CURRENT, name + "\n")
        for old in list_checkpoints(path)[:-max(keep, 1)]:
            shutil.rmtree(path / old, ignore_errors=True)
    return name


def load_map(path: str | Path, *, checkpoint: str | None = None, feature_dim: int | None = None,
             feature_model: str | None = None, voxel_size: float | None = None) -> VoxelMap:
    """Load the current (or the named) checkpoint; the keyword checks raise ``SchemaMismatchError``."""
    voxel_map, _ = load_map_with_attrs(path, checkpoint=checkpoint, feature_dim=feature_dim,
                                       feature_model=feature_model, voxel_size=voxel_size)
    return voxel_map


def load_map_with_attrs(path: str | Path, *, checkpoint: str | None = None, feature_dim: int | None = None,
                        feature_model: str | None = None, voxel_size: float | None = None,
                        ) -> tuple[VoxelMap, dict]:
    """Like ``load_map``, also returning the ``extra_attrs`` saved with the checkpoint."""
    path = Path(path)
    if checkpoint is not None and checkpoint not in list_checkpoints(path):
        raise StoreError(f"{path} has no checkpoint {checkpoint!r}; it has {list_checkpoints(path)}")
    name = checkpoint or _current_name(path)
    group = _open_group(path / name)
    attrs = dict(group.attrs)
    if attrs.get("format") != FORMAT:
        raise StoreError(f"{path / name} is not a mem3d map checkpoint (format {attrs.get('format')!r})")
    if attrs.get("schema_version") != SCHEMA_VERSION:
        raise SchemaMismatchError(f"{path / name} has schema version {attrs.get('schema_version')}, "
                                  f"this mem3d reads version {SCHEMA_VERSION}")
    metadata = _checked_metadata(attrs, path / name)
    config = config_from_dict(MapConfig, metadata["config"], where="stored map config")
    _check_expected(config, feature_dim, feature_model, voxel_size, path)
    return _read_checkpoint(group, config, metadata, path / name), dict(metadata["extra"])


def stored_config(path: str | Path) -> MapConfig | None:
    """The map config of a store's current checkpoint, from its metadata alone (no arrays read); None
    if ``path`` holds no store yet. Tools check it before loading anything heavy (an encoder)."""
    path = Path(path)
    if read_current(path) is None:
        return None
    name = _current_name(path)
    metadata = _checked_metadata(dict(_open_group(path / name).attrs), path / name)
    return config_from_dict(MapConfig, metadata["config"], where="stored map config")


def read_current(path: str | Path) -> str | None:
    """What ``CURRENT`` says (stripped), or None if the store has no ``CURRENT`` file."""
    try:
        return (Path(path) / CURRENT).read_text(errors="replace").strip()
    except FileNotFoundError:
        return None


def _current_name(path: Path) -> str:
    name = read_current(path)
    if name is None:
        raise StoreError(f"{path} is not a mem3d map store (no {CURRENT} file)")
    if not name.startswith(PREFIX) or not (path / name).is_dir():
        raise StoreError(f"{path / CURRENT} names {name!r}, which is not a checkpoint in the store")
    return name


def _open_group(where: Path) -> zarr.Group:
    try:
        return zarr.open_group(str(where), mode="r", zarr_format=3)
    except Exception as error:  # zarr raises several types for missing or damaged metadata
        raise StoreError(f"cannot open checkpoint {where}: {error}") from error


def _check_expected(config: MapConfig, feature_dim: int | None, feature_model: str | None,
                    voxel_size: float | None, path: Path) -> None:
    checks = (("feature dimension", feature_dim, config.feature_dim),
              ("feature model", feature_model, config.feature_model),
              ("voxel size", voxel_size, config.voxel_size))
    for what, wanted, stored in checks:
        if wanted is not None and wanted != stored:
            raise SchemaMismatchError(f"map at {path} has {what} {stored!r}, expected {wanted!r}")


def _checksum(array: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(array).view(np.uint8).ravel())


def _compressor(dtype: np.dtype) -> BloscCodec:
    """LZ4 through Blosc, byte-shuffled for multi-byte types. A checkpoint is written while the service
    answers queries, and almost all of it is the int8 feature column: at 380k voxels LZ4 takes about
    half the CPU time of zstd level 1 (the codec before: stores written with it still load, zarr reads
    the codec from each array's metadata) for 13% more bytes. No byte shuffle for 1-byte types."""
    size = dtype.itemsize
    return BloscCodec(cname="lz4", clevel=COMPRESSION_LEVEL, typesize=size,
                      shuffle="shuffle" if size > 1 else "noshuffle")


def _write_checkpoint(contents: MapContents, where: Path, extra: dict) -> None:
    group = zarr.open_group(str(where), mode="w", zarr_format=3)
    checksums = {}
    arrays = {**{VOXELS + name: rows for name, rows in contents.columns.items()},
              **{CODEBOOK + name: part for name, part in contents.codebook.items()}}
    for key, data in arrays.items():
        chunks = (min(CHUNK_ROWS, max(data.shape[0], 1)),) + data.shape[1:]
        written = group.create_array(key, shape=data.shape, dtype=data.dtype, chunks=chunks, fill_value=0,
                                     compressors=[_compressor(data.dtype)])
        if data.size:
            written[...] = data
        checksums[key] = _checksum(data)
    metadata = {"config": json.loads(json.dumps(config_to_dict(contents.config))), "n_voxels": contents.n_voxels,
                "checksums": checksums, "extra": json.loads(json.dumps(extra))}
    group.attrs.update({"format": FORMAT, "schema_version": SCHEMA_VERSION, **metadata,
                        "metadata_crc": _metadata_crc(metadata)})


def _metadata_crc(metadata: dict) -> int:
    """CRC32 of the attributes a load trusts (config, voxel count, array checksums, extra)."""
    return zlib.crc32(json.dumps(metadata, sort_keys=True).encode())


def _checked_metadata(attrs: dict, where: Path) -> dict:
    """The trusted attributes of a checkpoint; ``StoreError`` if any is missing or altered."""
    try:
        metadata = {name: attrs[name] for name in ("config", "n_voxels", "checksums", "extra")}
        intact = attrs["metadata_crc"] == _metadata_crc(metadata)
    except (KeyError, TypeError, ValueError) as error:
        raise StoreError(f"checkpoint {where} is damaged: its metadata is incomplete ({error})") from None
    if not intact:
        raise StoreError(f"checkpoint {where} is damaged: its metadata does not match its checksum")
    return metadata


def _read_checkpoint(group: zarr.Group, config: MapConfig, metadata: dict, where: Path) -> VoxelMap:
    """The map in ``group``, every array checked against its checksum."""
    data = {}
    for key, expected in metadata["checksums"].items():
        try:
            data[key] = np.asarray(group[key][...])
        except Exception as error:  # missing or undecodable chunk files
            raise StoreError(f"checkpoint {where} is damaged: cannot read {key} ({error})") from error
        if _checksum(data[key]) != expected:
            raise StoreError(f"checkpoint {where} is damaged: checksum of {key} does not match")
    contents = MapContents(config, _under(data, VOXELS), _under(data, CODEBOOK))
    try:
        voxel_map = VoxelMap.restore(contents)
    except InvalidInputError as error:
        raise StoreError(f"checkpoint {where} is damaged: {error}") from None
    if len(voxel_map) != int(metadata["n_voxels"]):
        raise StoreError(f"checkpoint {where} is damaged: it holds {len(voxel_map)} voxels, "
                         f"its metadata says {metadata['n_voxels']}")
    return voxel_map


def _under(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The arrays named ``prefix<name>``, by name."""
    return {key[len(prefix):]: array for key, array in arrays.items() if key.startswith(prefix)}
