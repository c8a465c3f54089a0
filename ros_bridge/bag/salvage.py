"""Reading what a damaged bag still holds, when ``rosbags`` refuses to open it (a bag cut short by a
crash or a full disk has no index or summary at its end).

Each format is scanned from its start, record by record, until the first incomplete record:
- MCAP: schema, channel and message records, chunks decompressed (none, zstd, lz4);
- ROS 1: connection and message records, chunks decompressed (none, bz2, lz4);
- ROS 2 sqlite3: a copy of the database grown back to its recorded size (the missing pages read
  as empty), its ``messages`` rows read in order until the first damaged page.
Messages come out in the order they were written (``RawMessage``), deserialised with the standard
type stores (ROS 2 Humble, ROS 1 Noetic plus ``tf2_msgs/TFMessage``).
"""

from __future__ import annotations

import bz2
import shutil
import sqlite3
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MCAP_MAGIC = b"\x89MCAP0\r\n"
ROS1_MAGIC = b"#ROSBAG V2.0\n"


@dataclass(frozen=True)
class RawMessage:
    topic: str
    msgtype: str
    """ROS 2 style name, e.g. ``sensor_msgs/msg/Image``."""
    timestamp_ns: int
    """Receive (log) time, nanoseconds."""
    data: bytes
    ros1: bool
    """Serialised as ROS 1 (else CDR)."""


class _CutError(Exception):
    """The data ends inside a record."""


def _take(data: bytes | memoryview, at: int, size: int) -> tuple[bytes, int]:
    if at + size > len(data):
        raise _CutError
    return bytes(data[at:at + size]), at + size


def salvage_messages(path: Path) -> Iterator[RawMessage]:
    """The complete messages of a damaged bag (file or ROS 2 bag directory), in file order."""
    if path.is_dir():
        files = sorted(path.glob("*.mcap")) or sorted(path.glob("*.db3"))
        for file in files:
            yield from salvage_messages(file)
        return
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head.startswith(MCAP_MAGIC):
        yield from _mcap(path.read_bytes())
    elif head.startswith(ROS1_MAGIC):
        yield from _ros1(path.read_bytes())
    elif head.startswith(b"SQLite format 3"):
        yield from _sqlite(path)


def _mcap_records(data: bytes | memoryview, at: int) -> Iterator[tuple[int, memoryview, bool]]:
    """(opcode, body, complete); the last record may be cut short (complete False)."""
    view = memoryview(data)
    try:
        while at < len(view):
            (op,), at = struct.unpack("<B", _take(view, at, 1)[0]), at + 1
            (length,), at = struct.unpack("<Q", _take(view, at, 8)[0]), at + 8
            yield op, view[at:at + length], at + length <= len(view)
            at += length
    except _CutError:
        return


def _string(body: memoryview, at: int) -> tuple[str, int]:
    (size,) = struct.unpack_from("<I", body, at)
    return bytes(body[at + 4:at + 4 + size]).decode(), at + 4 + size


def _mcap(data: bytes) -> Iterator[RawMessage]:
    schemas: dict[int, str] = {}
    channels: dict[int, tuple[str, str]] = {}

    def walk(records) -> Iterator[RawMessage]:
        for op, body, complete in records:
            if not complete and op != 0x06:
                return
            if op == 0x03:  # schema: id, name, encoding, data
                (schema_id,) = struct.unpack_from("<H", body, 0)
                schemas[schema_id], _ = _string(body, 2)
            elif op == 0x04:  # channel: id, schema id, topic, message encoding, metadata
                channel_id, schema_id = struct.unpack_from("<HH", body, 0)
                topic, _ = _string(body, 4)
                channels[channel_id] = (topic, schemas.get(schema_id, ""))
            elif op == 0x05:  # message: channel, sequence, log time, publish time, data
                channel_id, _, log_time, _ = struct.unpack_from("<HIQQ", body, 0)
                if channel_id in channels:
                    topic, msgtype = channels[channel_id]
                    yield RawMessage(topic, msgtype, log_time, bytes(body[22:]), False)
            elif op == 0x06:  # chunk: start, end, size, crc, compression, records
                _, _, size, _ = struct.unpack_from("<QQQI", body, 0)
                compression, at = _string(body, 28)
                (length,) = struct.unpack_from("<Q", body, at)
                records = bytes(body[at + 8:at + 8 + length])
                if complete or compression in ("", "none"):  # a cut plain chunk still holds whole records
                    yield from walk(_mcap_records(_decompress(records, compression, size) if complete else records, 0))

    yield from walk(_mcap_records(data, len(MCAP_MAGIC)))


def _decompress(data: bytes, compression: str, size: int) -> bytes:
    if compression in ("", "none"):
        return data
    if compression == "zstd":
        from backports import zstd

        return zstd.decompress(data)
    if compression == "lz4":
        import lz4.frame

        return lz4.frame.decompress(data)
    if compression == "bz2":
        return bz2.decompress(data)
    raise ValueError(f"unknown chunk compression {compression!r}")


def _ros1_fields(header: bytes) -> dict[str, bytes]:
    fields, at = {}, 0
    while at + 4 <= len(header):
        (size,) = struct.unpack_from("<I", header, at)
        name, _, value = header[at + 4:at + 4 + size].partition(b"=")
        fields[name.decode()] = value
        at += 4 + size
    return fields


def _ros1_records(data: bytes, at: int) -> Iterator[tuple[dict[str, bytes], bytes, bool]]:
    """(header fields, body, complete); the last record may be cut short (complete False)."""
    try:
        while at < len(data):
            raw, at = _take(data, at, 4)
            header, at = _take(data, at, struct.unpack("<I", raw)[0])
            raw, at = _take(data, at, 4)
            size = struct.unpack("<I", raw)[0]
            yield _ros1_fields(header), data[at:at + size], at + size <= len(data)
            at += size
    except _CutError:
        return


def _ros1(data: bytes) -> Iterator[RawMessage]:
    connections: dict[int, tuple[str, str]] = {}

    def walk(records) -> Iterator[RawMessage]:
        for header, body, complete in records:
            op = header.get("op", b"\0")[0]
            if not complete and op != 0x05:
                return
            if op == 0x07:
                conn = struct.unpack("<I", header["conn"])[0]
                msgtype = _ros1_fields(body).get("type", b"").decode()
                package, _, name = msgtype.partition("/")
                connections[conn] = (header["topic"].decode(), f"{package}/msg/{name}")
            elif op == 0x02:
                conn = struct.unpack("<I", header["conn"])[0]
                sec, nsec = struct.unpack("<II", header["time"])
                if conn in connections:
                    topic, msgtype = connections[conn]
                    yield RawMessage(topic, msgtype, sec * 1_000_000_000 + nsec, body, True)
            elif op == 0x05:
                size, compression = struct.unpack("<I", header["size"])[0], header["compression"].decode()
                if complete or compression == "none":  # a cut plain chunk still holds whole records
                    yield from walk(_ros1_records(_decompress(body, compression, size) if complete else body, 0))

    yield from walk(_ros1_records(data, len(ROS1_MAGIC)))


def _sqlite(path: Path) -> Iterator[RawMessage]:
    with tempfile.TemporaryDirectory(prefix="mem3d-salvage-") as tmp:
        copy = Path(tmp) / path.name
        shutil.copyfile(path, copy)
        header = copy.read_bytes()[:100]
        page_size = struct.unpack(">H", header[16:18])[0] or 65536
        pages = struct.unpack(">I", header[28:32])[0]
        if copy.stat().st_size < page_size * pages:
            with open(copy, "r+b") as handle:
                handle.truncate(page_size * pages)
        db = sqlite3.connect(f"file:{copy}?mode=ro&immutable=1", uri=True)
        try:
            topics = {tid: (name, kind) for tid, name, kind in db.execute("SELECT id, name, type FROM topics")}
            for topic_id, stamp, data in db.execute("SELECT topic_id, timestamp, data FROM messages ORDER BY id"):
                if topic_id in topics:
                    yield RawMessage(*topics[topic_id], int(stamp), bytes(data), False)
        except sqlite3.DatabaseError:
            return
        finally:
            db.close()
