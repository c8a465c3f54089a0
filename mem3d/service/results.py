"""What the ingest worker hands to the service loop, through the replica follower (``mem3d.service.follower``)."""

from __future__ import annotations

from dataclasses import dataclass

from mem3d.protocol.replies import Reply
from mem3d.types import MapUpdate
from mem3d.voxel_map import MapChanges


@dataclass(frozen=True)
class Answer:
    """A reply to an ingest that changed nothing: a refusal or a duplicate."""

    envelope: list[bytes]
    request_id: int
    reply: Reply


@dataclass(frozen=True)
class Applied:
    """A logged ingest went through the map (``reply`` is its ack, or an error if applying failed)."""

    envelope: list[bytes]
    request_id: int
    reply: Reply
    update: MapUpdate | None
    changes: MapChanges
    """What the frame changed in the map: the query views apply it before the reply goes out."""
    seq: int
    announcement: list[bytes] | None = None
    """The change feed's message for ``update`` (None while nobody subscribes; the follower makes it)."""


@dataclass(frozen=True)
class Saved:
    """A save request's outcome: the checkpoint's name, or the error that stopped it."""

    checkpoint: str | None
    error: Exception | None = None


@dataclass(frozen=True)
class Stopped:
    """The worker (or the follower) ended: after a stop request (``error`` None) or on a fatal error (a broken log)."""

    error: BaseException | None

