"""Messages of older schema versions, converted on read (a write-ahead log written by an older mem3d).

Live peers must speak the current version (``wire.decode`` refuses others). Stored messages are
upgraded one version at a time by the steps below; array frames never change, only the header.
The history is in docs/protocol.md ("Versions").
"""

from __future__ import annotations

from collections.abc import Callable

import msgpack

from mem3d.protocol.wire import SCHEMA_VERSION, ProtocolError, parse_header


def _v1_to_v2(header: dict) -> dict:
    """Version 2 names the camera pose ``T_world_camera`` (``pose`` before) in ``ingest`` and ``observation``."""
    if header.get("type") in ("ingest", "observation") and isinstance(header.get("arrays"), list):
        header["arrays"] = [["T_world_camera", *spec[1:]] if isinstance(spec, list) and spec[:1] == ["pose"]
                            else spec for spec in header["arrays"]]
    return header


UPGRADES: dict[int, Callable[[dict], dict]] = {1: _v1_to_v2}
"""version -> the step that makes a header of that version one of the next."""


def upgrade(frames: list[bytes]) -> list[bytes]:
    """The frames of one message, with an older version's header rewritten to the current version.

    Frames of the current version, of an unknown version or with an unreadable header are returned
    as they are, for ``wire.decode`` to judge.
    """
    if not frames:
        return frames
    try:
        header = parse_header(frames[0])
    except ProtocolError:
        return frames
    version = header.get("v")
    if type(version) is not int or version not in UPGRADES:
        return frames
    while version != SCHEMA_VERSION:
        header = UPGRADES[version](header)
        version += 1
    header["v"] = SCHEMA_VERSION
    return [msgpack.packb(header, use_bin_type=True), *frames[1:]]
