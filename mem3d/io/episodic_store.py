"""The episodic memory in a store directory, under the store's durability rule.

Layout (beside the checkpoints and the write-ahead log)::

    episodic/state-ckpt-000007.bin   the episodic memory as of checkpoint ckpt-000007 (magic, msgpack
                                     header and arrays, CRC32), written before that checkpoint
    episodic/keyframes/kf-000042.jpg keyframe RGB (JPEG), and .png its 16-bit depth in millimetres

A checkpoint's episodic state is written (fsynced, atomically renamed) before the map checkpoint
itself, so a checkpoint that ``CURRENT`` names always has its state. After a restart the log records
after the checkpoint are replayed through the map *and* the episodic memory, so nothing acknowledged
is lost. Keyframe files are written when the keyframe is made and fsynced before the next state;
those the budget drops are deleted only once no kept state refers to them. A missing or damaged
state of a checkpoint, or a damaged keyframe file, is a ``StoreError`` naming the file, never an
empty memory in its place.
"""

from __future__ import annotations

import logging
import os
import threading
import zlib
from pathlib import Path

import msgpack
import numpy as np

from mem3d.episodic.config import EpisodicConfig
from mem3d.episodic.keyframes import KeyframeImages
from mem3d.episodic.memory import EpisodicMemory
from mem3d.episodic.state import from_state, to_state
from mem3d.errors import StoreError
from mem3d.io.durable_files import atomic_write_bytes, fsync_dir

log = logging.getLogger("mem3d.io")
EPISODIC = "episodic"
KEYFRAMES = "keyframes"
STATE_PREFIX = "state-"
MARKER = "FORMAT"
"""Written once the store has an episodic memory: without it (and without states) a store predates it."""
MAGIC = b"mem3d-episodic-state\n"


def state_path(store: Path, checkpoint: str) -> Path:
    return Path(store) / EPISODIC / f"{STATE_PREFIX}{checkpoint}.bin"


def encode_state(memory: EpisodicMemory) -> bytes:
    """The memory as bytes (copied now: call between two frames)."""
    header, arrays = to_state(memory)
    packed = [[name, a.dtype.str, list(a.shape), np.ascontiguousarray(a).tobytes()] for name, a in arrays.items()]
    body = msgpack.packb({"header": header, "arrays": packed}, use_bin_type=True)
    return MAGIC + body + zlib.crc32(body).to_bytes(4, "little")


def decode_state(data: bytes, where: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, arrays) of ``encode_state`` bytes; ``StoreError`` naming ``where`` if they are damaged."""
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
        raise StoreError(f"{where} is not an episodic state file (damaged or truncated)")
    body, crc = data[len(MAGIC):-4], int.from_bytes(data[-4:], "little")
    if zlib.crc32(body) != crc:
        raise StoreError(f"{where} is damaged (checksum mismatch)")
    try:
        content = msgpack.unpackb(body, raw=False, strict_map_key=False)
        arrays = {name: np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape).copy()
                  for name, dtype, shape, raw in content["arrays"]}
        return content["header"], arrays
    except (ValueError, TypeError, KeyError, msgpack.ExtraData) as error:
        raise StoreError(f"{where} cannot be read: {error}") from None


def save_state(store: Path, checkpoint: str, data: bytes) -> None:
    """Write the episodic state of ``checkpoint`` durably (fsynced, atomic rename)."""
    target = state_path(store, checkpoint)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, data)


def load_state(store: Path, checkpoint: str | None, sink: KeyframeFiles, initial: str, voxel_size: float,
               match_threshold: float, config: EpisodicConfig | None = None) -> EpisodicMemory:
    """The episodic memory as of ``checkpoint`` (a new one for a new store or its first, empty
    checkpoint ``initial``), with ``config``; a stored memory keeps the config it was recorded with,
    so that replaying the log reproduces it. A store written before the episodic memory existed (no ``episodic/``
    folder) gets a new one, with a warning. Otherwise a missing or damaged state is a ``StoreError``."""
    store = Path(store)
    if checkpoint is None or checkpoint == initial:
        return EpisodicMemory(config, voxel_size, match_threshold, sink)
    path = state_path(store, checkpoint)
    if not path.exists():
        folder = store / EPISODIC
        if not (folder / MARKER).exists() and not any(folder.glob(f"{STATE_PREFIX}*.bin")):
            log.warning("%s has no episodic memory yet (written before it existed): starting an empty one; "
                        "it holds what comes after checkpoint %s", store, checkpoint)
            return EpisodicMemory(config, voxel_size, match_threshold, sink)
        raise StoreError(f"the episodic memory of checkpoint {checkpoint} is missing ({path}): the store is "
                         f"damaged. Nothing was changed; the voxel map is intact. To keep the map and start the "
                         f"episodic memory anew, move {store / EPISODIC} away")
    header, arrays = decode_state(path.read_bytes(), path)
    memory = from_state(header, arrays, sink)
    if abs(memory.voxel_size - voxel_size) > 1e-12:
        raise StoreError(f"{path} was made for voxels of {memory.voxel_size} m, the map has {voxel_size} m")
    if config is not None and config != memory.config:
        log.warning("%s: the episodic memory keeps the settings it was recorded with, not the ones given", store)
    return memory


def episodic_problem(store: Path, checkpoint: str | None, initial: str, voxel_size: float) -> str | None:
    """What is wrong with the episodic memory of ``checkpoint`` (its state, its keyframe files), or None:
    the check ``mem3d store check`` runs, the same that opening the store makes."""
    files = KeyframeFiles(store, writable=False)
    try:
        memory = load_state(store, checkpoint, files, initial, voxel_size, 0.5)
        files.check(list(memory.keyframes))
    except StoreError as error:
        return f"episodic memory: {error}"
    return None


def prune_states(store: Path, checkpoints: list[str]) -> None:
    """Delete the states of checkpoints that are gone."""
    folder = Path(store) / EPISODIC
    keep = {f"{STATE_PREFIX}{name}.bin" for name in checkpoints}
    for path in folder.glob(f"{STATE_PREFIX}*.bin"):
        if path.name not in keep:
            path.unlink(missing_ok=True)


class KeyframeFiles:
    """Keyframe images as files of a store (a ``KeyframeSink``). ``writable=False`` (read-only tools)
    keeps the images of replayed keyframes in memory and never writes."""

    def __init__(self, store: Path, writable: bool = True) -> None:
        self.folder = Path(store) / EPISODIC / KEYFRAMES
        self.writable = writable
        self._lock = threading.Lock()
        self._unsynced: list[Path] = []
        self._dropped: set[int] = set()
        self._in_memory: dict[int, KeyframeImages] = {}

    def mark(self) -> None:
        """Record that this store has an episodic memory (``MARKER``), and make the keyframe folder."""
        self.folder.mkdir(parents=True, exist_ok=True)
        marker = self.folder.parent / MARKER
        if not marker.exists():
            atomic_write_bytes(marker, b"1\n")

    def paths(self, keyframe_id: int) -> tuple[Path, Path]:
        stem = self.folder / f"kf-{keyframe_id:06d}"
        return stem.with_suffix(".jpg"), stem.with_suffix(".png")

    def put(self, keyframe_id: int, images: KeyframeImages) -> None:
        if not self.writable:
            self._in_memory[keyframe_id] = images
            return
        written = []
        for path, data in zip(self.paths(keyframe_id), (images.rgb_jpeg, images.depth_png)):
            staging = path.with_name(f".{path.name}.tmp")
            staging.write_bytes(data)
            os.replace(staging, path)
            written.append(path)
        with self._lock:
            self._unsynced += written
            self._dropped.discard(keyframe_id)

    def get(self, keyframe_id: int) -> KeyframeImages:
        if keyframe_id in self._in_memory:
            return self._in_memory[keyframe_id]
        rgb, depth = self.paths(keyframe_id)
        try:
            return KeyframeImages(rgb.read_bytes(), depth.read_bytes())
        except FileNotFoundError:
            raise StoreError(f"keyframe {keyframe_id} of the episodic memory is missing ({rgb.parent}): "
                             "the store is damaged") from None

    def drop(self, keyframe_id: int) -> None:
        """Forget a keyframe: its files go once no kept state refers to it (``collect``)."""
        self._in_memory.pop(keyframe_id, None)
        with self._lock:
            self._dropped.add(keyframe_id)

    def check(self, keyframe_ids: list[int]) -> None:
        """``StoreError`` naming the first keyframe whose files are missing."""
        for keyframe_id in keyframe_ids:
            for path in self.paths(keyframe_id):
                if not path.exists():
                    raise StoreError(f"keyframe file {path} of the episodic memory is missing: the store is "
                                     "damaged (nothing was changed)")

    def sync(self) -> None:
        """Make the keyframe files written so far durable (before a state that refers to them)."""
        with self._lock:
            pending, self._unsynced = self._unsynced, []
        for path in pending:
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:  # dropped and collected meanwhile
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        if pending:
            fsync_dir(self.folder)

    def collect(self, referenced: set[int]) -> None:
        """Delete the files of dropped keyframes that no kept state refers to."""
        with self._lock:
            gone = {k for k in self._dropped if k not in referenced}
            self._dropped -= gone
        for keyframe_id in sorted(gone):
            for path in self.paths(keyframe_id):
                path.unlink(missing_ok=True)

