"""The bytes of the write-ahead log: records, loss markers and the acknowledgement watermark.

A segment file (``wal/00000007.wal``) is a sequence of records::

    magic (4 bytes) | crc32 (u32) | seq (u64) | n_frames (u32) | n_frames x length (u32) | frame bytes...

The CRC covers everything after itself. Two kinds of record:

- ``M3DW``, an ingest: the frames of one ingest message exactly as it came off the wire.
- ``M3DL``, a loss marker, written only by ``mem3d store repair --accept-loss``: one 8-byte frame
  holding the first lost sequence number (u64); the record's ``seq`` is the last one. It records, in
  the log itself, that acknowledged records ``first..seq`` were lost and the loss was accepted.

``wal/ACKED`` holds the watermark: every record up to its sequence number was fsynced before an
acknowledgement was sent. It is 16 bytes, ``"M3DA" | seq (u64) | crc32 (u32)`` of the first 12, and
is overwritten in place after every fsync of the log (without an fsync of its own: it is exact after
a process crash, and after a power loss it can only lag, never run ahead of the durable records).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

INGEST = b"M3DW"
LOSS = b"M3DL"
HEAD = struct.Struct("<4sIQI")
"""magic, crc32, seq, n_frames."""
MAX_FRAMES = 64
ACKED_MAGIC = b"M3DA"
_ACKED = struct.Struct("<4sQ")
ACKED_SIZE = _ACKED.size + 4


@dataclass(frozen=True)
class Record:
    """One intact record of a segment."""

    seq: int
    """Its sequence number (a loss marker: the last lost one)."""
    frames: list[bytes]
    end: int
    """Byte offset just after it."""
    first_seq: int
    """``seq`` for an ingest; the first lost sequence number for a loss marker."""
    loss: bool = False
    """A loss marker (no frames)."""


def encode_record(seq: int, frames: list[bytes], magic: bytes = INGEST) -> bytes:
    """The bytes of one record."""
    lengths = struct.pack(f"<{len(frames)}I", *(len(f) for f in frames))
    body = struct.pack("<QI", seq, len(frames)) + lengths
    crc = zlib.crc32(body)
    for frame in frames:
        crc = zlib.crc32(frame, crc)
    return b"".join([magic, struct.pack("<I", crc), body, *frames])


def encode_loss(first_seq: int, last_seq: int) -> bytes:
    """A loss marker: acknowledged records ``first_seq..last_seq`` were lost, and the loss accepted."""
    return encode_record(last_seq, [struct.pack("<Q", first_seq)], LOSS)


@dataclass(frozen=True)
class ParsedRecord:
    """What ``parse_record`` found at an offset: a record, or why there is none."""

    record: Record | None
    incomplete: bool = False
    """The bytes from the offset to the end are too few for the record their header announces
    (or for a header), and what can be read of them is consistent: a record cut short."""
    seq_hint: int | None = None
    """The sequence number a readable but unverified header gives."""


def parse_record(data: bytes | memoryview, offset: int) -> ParsedRecord:
    """The record at ``offset`` of a segment's bytes, checked against its CRC."""
    remaining = len(data) - offset
    if remaining < HEAD.size:
        head = bytes(data[offset:offset + 4])
        return ParsedRecord(None, incomplete=INGEST.startswith(head) or LOSS.startswith(head))
    magic, crc, seq, n_frames = HEAD.unpack_from(data, offset)
    if magic not in (INGEST, LOSS) or n_frames > MAX_FRAMES:
        return ParsedRecord(None)
    lengths_end = offset + HEAD.size + 4 * n_frames
    if lengths_end > len(data):
        return ParsedRecord(None, incomplete=True, seq_hint=seq)
    lengths = struct.unpack_from(f"<{n_frames}I", data, offset + HEAD.size)
    end = lengths_end + sum(lengths)
    if end > len(data):
        return ParsedRecord(None, incomplete=True, seq_hint=seq)
    if zlib.crc32(data[offset + 8:end]) != crc:
        return ParsedRecord(None, seq_hint=seq)
    frames, position = [], lengths_end
    for length in lengths:
        frames.append(bytes(data[position:position + length]))
        position += length
    if magic == LOSS:
        if n_frames != 1 or lengths[0] != 8:
            return ParsedRecord(None, seq_hint=seq)
        (first,) = struct.unpack("<Q", frames[0])
        if first > seq:
            return ParsedRecord(None, seq_hint=seq)
        return ParsedRecord(Record(seq, [], end, first, loss=True))
    return ParsedRecord(Record(seq, frames, end, seq))


def next_record(data: bytes | memoryview, offset: int) -> int | None:
    """Offset of the first intact record after ``offset`` (a resynchronisation scan), or None."""
    raw = bytes(data)
    position = offset
    while True:
        candidates = [at for at in (raw.find(INGEST, position), raw.find(LOSS, position)) if at >= 0]
        if not candidates:
            return None
        at = min(candidates)
        if parse_record(raw, at).record is not None:
            return at
        position = at + 1


def encode_acked(seq: int) -> bytes:
    head = _ACKED.pack(ACKED_MAGIC, seq)
    return head + struct.pack("<I", zlib.crc32(head))


def decode_acked(raw: bytes) -> int | None:
    """The watermark in ``raw``, or None if it is not an intact watermark."""
    if len(raw) != ACKED_SIZE:
        return None
    magic, seq = _ACKED.unpack_from(raw)
    (crc,) = struct.unpack_from("<I", raw, _ACKED.size)
    return seq if magic == ACKED_MAGIC and crc == zlib.crc32(raw[:_ACKED.size]) else None
