"""Write-ahead log: the ingests that arrived since the last checkpoint, in numbered segment files.

Each record holds one ingest message exactly as it came off the wire::

    magic "M3DW" | crc32 (u32) | seq (u64) | n_frames (u32) | n_frames x length (u32) | frame bytes...

The CRC covers everything after itself. An ingest is acknowledged only after its record is fsynced,
so after a crash a damaged or incomplete record can only sit in the unsynced tail of the newest
segment: replay truncates it there. A damaged record anywhere else is corruption and is reported.
Records of an older wire schema version are converted to the current one as they are read
(``mem3d.protocol.migrations``), so a store written by an older mem3d replays.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from mem3d.errors import StoreError
from mem3d.io.durable_files import fsync_dir
from mem3d.protocol.migrations import upgrade

MAGIC = b"M3DW"
_HEAD = struct.Struct("<4sIQI")
_SUFFIX = ".wal"


class WriteAheadLog:
    """Append-only, segmented, checksummed log of wire messages.

    Records go straight to the file descriptor (no user-space buffer), so a failed write or sync
    leaves nothing pending that a later sync could still write, and ``rollback`` can always cut the
    segment back to a record boundary.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = None
        self._segment = max(self.segments(), default=0)

    def segments(self) -> list[int]:
        """Numbers of the segment files present, ascending."""
        return sorted(int(p.stem) for p in self.directory.glob(f"*{_SUFFIX}") if p.stem.isdigit())

    def _path(self, segment: int) -> Path:
        return self.directory / f"{segment:08d}{_SUFFIX}"

    @property
    def current_segment(self) -> int:
        return self._segment

    def _open_current(self) -> int:
        if self._fd is None:
            self._segment = max(self._segment, 1)
            path = self._path(self._segment)
            created = not path.exists()
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            if created:
                fsync_dir(self.directory)  # the new file's name is durable before any record in it
        return self._fd

    def end(self) -> int:
        """Byte offset of the end of the current segment (for ``rollback``)."""
        return os.lseek(self._open_current(), 0, os.SEEK_END)

    def rollback(self, offset: int) -> None:
        """Cut the current segment back to ``offset`` after a failed append or sync (raises if it cannot)."""
        os.ftruncate(self._fd, offset)
        os.fsync(self._fd)

    def append(self, seq: int, frames: list[bytes]) -> None:
        """Write one record (not yet durable: call ``sync`` before acknowledging it)."""
        fd = self._open_current()
        lengths = struct.pack(f"<{len(frames)}I", *(len(f) for f in frames))
        body = struct.pack("<QI", seq, len(frames)) + lengths
        crc = zlib.crc32(body)
        for frame in frames:
            crc = zlib.crc32(frame, crc)
        record = memoryview(b"".join([MAGIC, struct.pack("<I", crc), body, *frames]))
        while record:
            record = record[os.write(fd, record):]

    def sync(self) -> None:
        """Make every appended record durable."""
        if self._fd is not None:
            os.fsync(self._fd)

    def rotate(self) -> int:
        """Close the current segment and start a new one; returns the new segment's number."""
        self.close()
        self._segment += 1
        self._open_current()
        return self._segment

    def drop_before(self, segment: int) -> None:
        """Delete every segment numbered below ``segment`` (their records are in a checkpoint)."""
        for number in self.segments():
            if number < segment:
                self._path(number).unlink(missing_ok=True)
        fsync_dir(self.directory)

    def replay(self) -> Iterator[tuple[int, list[bytes]]]:
        """Every intact record, oldest first, as (seq, frames) in the current wire schema version;
        truncates a torn tail of the newest segment."""
        segments = self.segments()
        for number in segments:
            yield from self._read_segment(self._path(number), is_last=number == segments[-1])

    def _read_segment(self, path: Path, is_last: bool) -> Iterator[tuple[int, list[bytes]]]:
        data = path.read_bytes()
        offset = 0
        while offset < len(data):
            record = _parse_record(data, offset)
            if record is None:
                if not is_last:
                    raise StoreError(f"write-ahead log {path} is damaged at byte {offset}")
                with open(path, "r+b") as handle:  # the unacknowledged tail of a crash
                    handle.truncate(offset)
                    os.fsync(handle.fileno())
                return
            seq, frames, offset = record
            yield seq, upgrade(frames)

    def close(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None


def _parse_record(data: bytes, offset: int) -> tuple[int, list[bytes], int] | None:
    """(seq, frames, next offset) of the record at ``offset``, or None if it is incomplete or damaged."""
    if offset + _HEAD.size > len(data):
        return None
    magic, crc, seq, n_frames = _HEAD.unpack_from(data, offset)
    lengths_end = offset + _HEAD.size + 4 * n_frames
    if magic != MAGIC or n_frames > 64 or lengths_end > len(data):
        return None
    lengths = struct.unpack_from(f"<{n_frames}I", data, offset + _HEAD.size)
    end = lengths_end + sum(lengths)
    if end > len(data) or zlib.crc32(data[offset + 8:end]) != crc:
        return None
    frames, position = [], lengths_end
    for length in lengths:
        frames.append(data[position:position + length])
        position += length
    return seq, frames, end
