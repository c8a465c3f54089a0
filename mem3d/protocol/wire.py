"""The wire format: a msgpack header frame followed by raw array frames. Never pickle.

A message is a list of ZeroMQ frames::

    frame 0      msgpack map: {"v": 2, "type": str, "id": int, "arrays": [[name, dtype, shape], ...], ...}
    frame 1..n   the raw bytes of each listed array, C order, in the listed order

``decode`` trusts nothing: it bounds sizes before parsing, checks every header field's type, accepts
only a fixed set of little-endian dtypes, and checks that each buffer's length matches its shape.
Anything else raises ``ProtocolError`` with an error code from ``ErrorCode``. What the header fields
and arrays of each message type must be is checked by its dataclass (``mem3d.protocol.codec``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import msgpack
import numpy as np

from mem3d.errors import Mem3dError

SCHEMA_VERSION = 2
"""Version of the wire schema; its history and migrations are in docs/protocol.md ("Versions")."""
MAX_HEADER_BYTES = 64 * 1024
MAX_FRAMES = 17  # header + at most 16 arrays
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
MAX_NDIM = 4
ALLOWED_DTYPES = frozenset({"<f2", "<f4", "<f8", "|u1", "|i1", "<i4", "<i8", "<u4"})


class ErrorCode(str, Enum):
    """Error codes carried by ``error`` replies (see docs/protocol.md)."""

    BAD_MESSAGE = "bad_message"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_TYPE = "unknown_type"
    TOO_LARGE = "too_large"
    INVALID_INPUT = "invalid_input"
    SCHEMA_MISMATCH = "schema_mismatch"
    NOT_AVAILABLE = "not_available"
    INTERNAL = "internal"


class ProtocolError(Mem3dError):
    """A message that cannot be accepted; ``code`` says why."""

    def __init__(self, code: ErrorCode, message: str, request_id: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.request_id = request_id
        """The id of the refused request when its header was readable, else 0."""


@dataclass
class Message:
    """A decoded message: its type, request id, plain header fields and named arrays."""

    type: str
    id: int = 0
    fields: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


def encode(message: Message) -> list[bytes | memoryview]:
    """Message -> frames (arrays are sent without copying when they are C-contiguous)."""
    specs, buffers = [], []
    for name, array in message.arrays.items():
        array = np.ascontiguousarray(array)
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        array = array.astype(dtype, copy=False)
        specs.append([name, dtype.str, list(array.shape)])
        buffers.append(memoryview(array).cast("B") if array.size else b"")
    header = dict(message.fields)
    header.update({"v": SCHEMA_VERSION, "type": message.type, "id": int(message.id), "arrays": specs})
    return [msgpack.packb(header, use_bin_type=True)] + buffers


def decode(frames: list[bytes]) -> Message:
    """Frames -> Message, validating everything; raises ``ProtocolError``.

    The error carries the message's ``id`` whenever the header frame could be read and holds a
    valid one (a ``too_large`` message included); else 0.
    """
    if not frames:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "empty message")
    header = parse_header(frames[0])
    try:
        if len(frames) > MAX_FRAMES:
            raise ProtocolError(ErrorCode.TOO_LARGE, f"{len(frames)} frames, at most {MAX_FRAMES} allowed")
        total = sum(len(f) for f in frames)
        if total > MAX_MESSAGE_BYTES:
            raise ProtocolError(ErrorCode.TOO_LARGE, f"message of {total} bytes exceeds {MAX_MESSAGE_BYTES}")
        return _decode_fields(header, frames)
    except ProtocolError as error:
        request_id = header.get("id")
        if _is_id(request_id):
            error.request_id = request_id
        raise


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _decode_fields(header: dict, frames: list[bytes]) -> Message:
    for name in ("v", "type", "id", "arrays"):
        if name not in header:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, f"header field {name!r} is required")
    version = header["v"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise ProtocolError(ErrorCode.BAD_MESSAGE,
                            f"header field 'v' must be an integer, got {type(version).__name__} {version!r}")
    if version != SCHEMA_VERSION:
        raise ProtocolError(ErrorCode.UNSUPPORTED_VERSION,
                            f"schema version {version} is not supported (this mem3d speaks {SCHEMA_VERSION})")
    kind, request_id, specs = header["type"], header["id"], header["arrays"]
    if not isinstance(kind, str) or not kind:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "header field 'type' must be a non-empty string")
    if not _is_id(request_id):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "header field 'id' must be an integer in [0, 2^63)")
    if not isinstance(specs, list) or len(specs) != len(frames) - 1:
        raise ProtocolError(ErrorCode.BAD_MESSAGE,
                            f"header lists {len(specs) if isinstance(specs, list) else '?'} arrays "
                            f"but {len(frames) - 1} array frames follow")
    arrays = {}
    for spec, buffer in zip(specs, frames[1:]):
        name, array = _parse_array(spec, buffer)
        if name in arrays:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, f"array {name!r} listed twice")
        arrays[name] = array
    fields = {k: v for k, v in header.items() if k not in ("v", "type", "id", "arrays")}
    return Message(kind, request_id, fields, arrays)


def parse_header(raw: bytes) -> dict:
    """The header frame as a dict (bounded in size); ``ProtocolError`` if it is not a msgpack map."""
    if len(raw) > MAX_HEADER_BYTES:
        raise ProtocolError(ErrorCode.TOO_LARGE, f"header of {len(raw)} bytes exceeds {MAX_HEADER_BYTES}")
    try:
        header = msgpack.unpackb(raw, raw=False, strict_map_key=True, use_list=True)
    except (ValueError, msgpack.exceptions.ExtraData, msgpack.exceptions.FormatError,
            msgpack.exceptions.StackError, UnicodeDecodeError, TypeError) as error:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"header is not valid msgpack: {error}") from None
    if not isinstance(header, dict):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "header must be a msgpack map")
    if not all(isinstance(key, str) for key in header):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "header keys must be msgpack str, not bin")
    return header


def _parse_array(spec: Any, buffer: bytes) -> tuple[str, np.ndarray]:
    if not (isinstance(spec, list) and len(spec) == 3 and isinstance(spec[0], str) and isinstance(spec[1], str)
            and isinstance(spec[2], list)):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "each array spec must be [name, dtype, shape]")
    name, dtype, shape = spec
    if dtype not in ALLOWED_DTYPES:
        raise ProtocolError(ErrorCode.BAD_MESSAGE,
                            f"array {name!r}: dtype {dtype!r} not allowed; use one of {sorted(ALLOWED_DTYPES)}")
    if len(shape) > MAX_NDIM or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**31
                                        for s in shape):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"array {name!r}: bad shape {shape!r}")
    itemsize = np.dtype(dtype).itemsize
    expected = itemsize * math.prod(shape)  # Python ints: no overflow for any accepted shape
    if expected != len(buffer):
        raise ProtocolError(ErrorCode.BAD_MESSAGE,
                            f"array {name!r}: shape {shape} of {dtype} needs {expected} bytes, got {len(buffer)}")
    return name, np.frombuffer(buffer, dtype=dtype).reshape(shape)
