"""Write-ahead log: the ingests that arrived since the last checkpoint, in numbered segment files.

Each record holds one ingest message exactly as it came off the wire (format: ``mem3d.io.wal_format``).
An ingest is acknowledged only after its record is fsynced and the watermark ``wal/ACKED`` says so,
so a damaged or incomplete record can only be unacknowledged if it lies after the watermark at the
very end of the newest segment (a torn tail). Reading and checking the log is ``mem3d.io.verify``'s
job: a store is checked before this writer opens it, and replayed from what the check found.
"""

from __future__ import annotations

import os
from pathlib import Path

from mem3d.io.durable_files import fsync_dir
from mem3d.io.verify import ACKED, segment_name, segment_numbers
from mem3d.io.wal_format import encode_acked, encode_record


class WriteAheadLog:
    """Append-only, segmented, checksummed log of wire messages, and its acknowledgement watermark.

    Records go straight to the file descriptor (no user-space buffer), so a failed write or sync
    leaves nothing pending that a later sync could still write, and ``rollback`` can always cut the
    segment back to a record boundary. ``acked`` is the newest sequence number known durable.
    """

    def __init__(self, directory: str | Path, acked: int = 0) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = None
        self._segment = max(self.segments(), default=0)
        self._acked_fd = os.open(self.directory / ACKED, os.O_RDWR | os.O_CREAT, 0o644)
        self._written = self.acked = acked
        self._publish_acked()
        os.fsync(self._acked_fd)

    def segments(self) -> list[int]:
        """Numbers of the segment files present, ascending."""
        return segment_numbers(self.directory)

    def _path(self, segment: int) -> Path:
        return self.directory / segment_name(segment)

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
        self._written = self.acked

    def append(self, seq: int, frames: list[bytes]) -> None:
        """Write one record (not yet durable: call ``sync`` before acknowledging it)."""
        fd = self._open_current()
        record = memoryview(encode_record(seq, frames))
        while record:
            record = record[os.write(fd, record):]
        self._written = seq

    def sync(self) -> None:
        """Make every appended record durable, then move the watermark to the newest of them."""
        if self._fd is not None:
            os.fsync(self._fd)
        if self._written != self.acked:
            self.acked = self._written
            self._publish_acked()

    def _publish_acked(self) -> None:
        """Overwrite the watermark in place; not fsynced (see ``mem3d.io.wal_format``)."""
        os.pwrite(self._acked_fd, encode_acked(self.acked), 0)

    def rotate(self) -> int:
        """Close the current segment and start a new one; returns the new segment's number."""
        self.close_segment()
        self._segment += 1
        self._open_current()
        return self._segment

    def drop_before(self, segment: int) -> None:
        """Delete every segment numbered below ``segment`` (their records are in a checkpoint)."""
        for number in self.segments():
            if number < segment:
                self._path(number).unlink(missing_ok=True)
        fsync_dir(self.directory)

    def close_segment(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        """Close the current segment and the watermark (made durable)."""
        self.close_segment()
        if self._acked_fd is not None:
            os.fsync(self._acked_fd)
            os.close(self._acked_fd)
            self._acked_fd = None
