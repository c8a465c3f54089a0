"""A typed Python client of the memory service (protocol: docs/protocol.md).

    with MemoryClient("tcp://127.0.0.1:5555") as memory:
        result = memory.localize(text="red mug")
        if not result.found: ...explore...
        with memory.subscribe_changes() as changes:
            for update in changes: ...react to update.appeared / update.disappeared...

Every call has a timeout. After a timeout the socket is replaced (a lost reply cannot confuse a
later call), and read-only requests are retried ``retries`` times before ``ServiceTimeoutError``.
Replies are decoded strictly into the dataclasses of ``mem3d.protocol.replies``: one that does not
fit its type raises ``ProtocolError``; an ``error`` reply raises ``ServiceError``.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator, Mapping
from typing import TypeVar

import numpy as np
import zmq

from mem3d.comms import endpoints as layout
from mem3d.comms.auth import CurveClientConfig
from mem3d.comms.endpoints import DEFAULT_REQUESTS
from mem3d.comms.sockets import CLIENT, connect
from mem3d.errors import Mem3dError
from mem3d.nav.traversability import OccupancyGrid
from mem3d.protocol import episodic, messages
from mem3d.protocol.announcements import MapUpdateAnnouncement
from mem3d.protocol.replies import (
    ErrorReply,
    IngestAck,
    LocalizeReply,
    Pong,
    Reply,
    SaveReply,
    ShutdownAck,
    StatsReply,
)
from mem3d.protocol.requests import (
    IngestRequest,
    OccupancyRequest,
    PingRequest,
    Request,
    SaveRequest,
    ShutdownRequest,
    StatsRequest,
)
from mem3d.protocol.wire import Message, ProtocolError, decode, encode
from mem3d.types import FeatureFrame, LocalizeResult

R = TypeVar("R", bound=Reply)


class ServiceError(Mem3dError):
    """The service answered with an error; ``code`` is one of the protocol's error codes."""

    def __init__(self, code: str, message: str, request_id: int = 0) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.request_id = request_id
        """The id of the refused request (0 if the service could not read it)."""


class ServiceTimeoutError(Mem3dError):
    """No answer within the timeout (service down, unreachable, or refusing our key)."""


class _Channel:
    """One DEALER socket with request ids, timeouts and reconnection."""

    def __init__(self, context: zmq.Context, endpoint: str, curve: CurveClientConfig | None) -> None:
        self._context, self.endpoint, self._curve = context, endpoint, curve
        self._ids = itertools.count(1)
        self._socket = self._connect()

    def _connect(self) -> zmq.Socket:
        return connect(self._context, zmq.DEALER, self.endpoint, CLIENT, self._curve)

    def reconnect(self) -> None:
        self._socket.close(linger=0)
        self._socket = self._connect()

    def send(self, message: Message, timeout: float) -> int:
        """Queue a request; a DEALER with no (authenticated) peer cannot take it within ``timeout``."""
        message.id = next(self._ids)
        if not self._socket.poll(int(timeout * 1000), zmq.POLLOUT):
            raise ServiceTimeoutError(f"cannot reach {self.endpoint} within {timeout:.1f} s")
        try:
            self._socket.send_multipart(encode(message), zmq.NOBLOCK, copy=False)
        except zmq.Again:
            raise ServiceTimeoutError(f"cannot reach {self.endpoint}: its queue is full") from None
        return message.id

    def receive(self, request_id: int | None, timeout: float) -> Message:
        """The reply to ``request_id`` (any reply if None); replies to older requests are skipped."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            if not self._socket.poll(int(remaining * 1000)):  # a zero timeout still looks once
                raise ServiceTimeoutError(f"no answer from {self.endpoint} within {timeout:.1f} s")
            reply = _decode(self._socket.recv_multipart(), self.endpoint)
            if request_id is None or reply.id == request_id:
                return reply

    def close(self) -> None:
        self._socket.close(linger=0)


class MemoryClient:
    """Requests to a memory service; ingest goes to its ingest endpoint and ``subscribe_changes`` to
    its change feed (defaults: the request port + 1 and + 2, ``mem3d.comms.endpoints``)."""

    def __init__(self, endpoint: str = DEFAULT_REQUESTS, ingest_endpoint: str | None = None,
                 timeout: float = 10.0, retries: int = 1, curve: CurveClientConfig | None = None,
                 changes_endpoint: str | None = None) -> None:
        self.timeout, self.retries = timeout, retries
        self._context = zmq.Context()
        self._requests = _Channel(self._context, endpoint, curve)
        self._ingest_endpoint = ingest_endpoint or layout.ingest_endpoint(endpoint)
        self._changes_endpoint = changes_endpoint
        self._curve = curve
        self._ingest: _Channel | None = None

    @classmethod
    def of_service(cls, endpoints: Mapping[str, str], **options) -> MemoryClient:
        """A client of the endpoints a service announced (its ready line, ``MemoryService.endpoints``):
        "requests", "ingest" and "changes"; ``options`` are the other arguments."""
        return cls(endpoints["requests"], endpoints["ingest"], changes_endpoint=endpoints["changes"], **options)

    # --- queries ---------------------------------------------------------------------------

    def ping(self) -> Pong:
        return self._request(PingRequest(), idempotent=True)

    def stats(self) -> StatsReply:
        return self._request(StatsRequest(), idempotent=True)

    def check_service(self, timeout: float = 3.0) -> StatsReply:
        """The service's stats, asked once within ``timeout`` seconds (no retry): tools call it first,
        so a missing service is reported at once (``ServiceTimeoutError`` asking whether it runs)."""
        endpoint = self._requests.endpoint
        try:
            request_id = self._requests.send(StatsRequest().to_message(), timeout)
            return _typed(self._requests.receive(request_id, timeout), StatsReply)
        except ServiceTimeoutError:
            self._requests.reconnect()
            raise ServiceTimeoutError(f"no memory service answers at {endpoint} within {timeout:g} s: "
                                      f"is `mem3d serve` running at {endpoint}?") from None

    def localize(self, text: str | None = None, embedding: np.ndarray | None = None, top_k: int = 5,
                 threshold: float | None = None) -> LocalizeResult:
        """Ranked candidates for a text (needs a service started with an encoder) or an embedding."""
        return self.localize_reply(text, embedding, top_k, threshold).to_result()

    def localize_reply(self, text: str | None = None, embedding: np.ndarray | None = None, top_k: int = 5,
                       threshold: float | None = None) -> LocalizeReply:
        """``localize`` with the reply's freshness: ``seq`` (the frame the answer reflects) and
        ``applied_seq`` (the newest frame applied when it was sent)."""
        return self._request(messages.localize_request(text, embedding, top_k, threshold), idempotent=True)

    def occupancy(self, region: tuple[float, float, float, float] | None = None,
                  since_seq: int = 0) -> OccupancyGrid:
        """A window of the memory's traversability grid (``mem3d.nav``): ``region`` = (xmin, ymin, xmax,
        ymax) world metres or None for all of it; ``since_seq`` > 0 narrows it to the cells changed after
        that frame. The grid is as of frame ``seq`` of the answer, the same frame a ``localize`` would see."""
        reply = self._request(OccupancyRequest(region=None if region is None else tuple(float(v) for v in region),
                                               since_seq=since_seq), idempotent=True)
        return reply.to_grid()

    # --- the episodic memory (mem3d.episodic.queries; every reply carries the seq it reflects) ---------

    def where_last_seen(self, text: str | None = None, embedding: np.ndarray | None = None,
                        threshold: float | None = None) -> episodic.WhereLastSeenReply:
        """Where the object was last seen: position, place, stamp and keyframe (``sighting``)."""
        return self._request(episodic.WhereLastSeenRequest(**_concept(text, embedding, threshold)), idempotent=True)

    def history(self, text: str | None = None, embedding: np.ndarray | None = None,
                threshold: float | None = None) -> episodic.HistoryReply:
        """The matched instance's events, oldest first."""
        return self._request(episodic.HistoryRequest(**_concept(text, embedding, threshold)), idempotent=True)

    def when_seen(self, text: str | None = None, embedding: np.ndarray | None = None,
                  threshold: float | None = None) -> episodic.WhenSeenReply:
        """The time intervals in which the matched instance was seen."""
        return self._request(episodic.WhenSeenRequest(**_concept(text, embedding, threshold)), idempotent=True)

    def changes_since(self, stamp: float, place: int | None = None) -> episodic.ChangesReply:
        """appeared / moved / disappeared events after ``stamp`` (seconds), at ``place`` if given."""
        return self._request(episodic.ChangesSinceRequest(stamp=float(stamp), place=place), idempotent=True)

    def what_was_at(self, stamp: float, place: int | None = None,
                    region: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None,
                    ) -> episodic.WhatWasAtReply:
        """The instances present at ``stamp`` in a place or a box (min corner, max corner; metres)."""
        lo, hi = (None, None) if region is None else (tuple(map(float, region[0])), tuple(map(float, region[1])))
        return self._request(episodic.WhatWasAtRequest(stamp=float(stamp), place=place, region_min=lo, region_max=hi),
                             idempotent=True)

    def route(self, from_place: int, to_place: int) -> episodic.RouteReply:
        """The shortest travelled route between two places."""
        return self._request(episodic.RouteRequest(from_place=int(from_place), to_place=int(to_place)),
                             idempotent=True)

    def places(self) -> episodic.PlacesReply:
        """Every place and travelled edge."""
        return self._request(episodic.PlacesRequest(), idempotent=True)

    def keyframe_image(self, keyframe: int) -> episodic.KeyframeImageReply:
        """A keyframe's JPEG and 16-bit PNG bytes (``mem3d.episodic.images`` decodes them)."""
        return self._request(episodic.KeyframeImageRequest(keyframe=int(keyframe)), idempotent=True)

    def save(self) -> SaveReply:
        """Write a checkpoint now (``checkpoint`` is its name)."""
        return self._request(SaveRequest(), idempotent=False)

    def shutdown(self) -> ShutdownAck:
        """Ask the service to checkpoint and exit."""
        return self._request(ShutdownRequest(), idempotent=False)

    def _request(self, request: Request, idempotent: bool):
        """The typed reply (``request.REPLY``) to a request."""
        return self._call(request.to_message(), request.REPLY, idempotent)

    def _call(self, message: Message, expected: type[R], idempotent: bool) -> R:
        attempts = 1 + (self.retries if idempotent else 0)
        for attempt in range(attempts):
            try:
                request_id = self._requests.send(message, self.timeout)
                return _typed(self._requests.receive(request_id, self.timeout), expected)
            except ServiceTimeoutError:
                self._requests.reconnect()
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    # --- the change feed -------------------------------------------------------------------

    def subscribe_changes(self, timeout: float | None = None) -> ChangeFeed:
        """A subscription to the service's change feed (close it, or use it as a context manager)."""
        endpoint = self._changes_endpoint or layout.changes_endpoint(self._requests.endpoint)
        return ChangeFeed(endpoint, curve=self._curve, timeout=self.timeout if timeout is None else timeout)

    # --- ingest ----------------------------------------------------------------------------

    def _ingest_channel(self) -> _Channel:
        if self._ingest is None:
            self._ingest = _Channel(self._context, self._ingest_endpoint, self._curve)
        return self._ingest

    def send_frame(self, frame: FeatureFrame, source: str) -> int:
        """Send one frame without waiting; returns the request id its ``IngestAck`` will carry."""
        return self._ingest_channel().send(messages.frame_to_message(frame, source), self.timeout)

    def receive_ack(self, timeout: float | None = None) -> tuple[int, IngestAck]:
        """The next ingest acknowledgement as (request id, ack).

        Raises ``ServiceError`` (with the request's id) when the service refused the frame, and
        ``ServiceTimeoutError`` when nothing arrives within ``timeout`` seconds (0 = just look).
        """
        reply = self._ingest_channel().receive(None, self.timeout if timeout is None else timeout)
        return reply.id, _typed(reply, IngestRequest.REPLY)

    def ingest(self, frame: FeatureFrame, source: str) -> IngestAck:
        """Send one frame and wait until it is durable in the memory."""
        channel = self._ingest_channel()
        try:
            request_id = self.send_frame(frame, source)
            return _typed(channel.receive(request_id, self.timeout), IngestRequest.REPLY)
        except ServiceTimeoutError:
            channel.reconnect()
            raise

    def reconnect_ingest(self) -> None:
        """Replace the ingest socket (after a timeout, before re-sending unacknowledged frames)."""
        if self._ingest is not None:
            self._ingest.reconnect()

    def close(self) -> None:
        self._requests.close()
        if self._ingest is not None:
            self._ingest.close()
        self._context.term()

    def __enter__(self) -> MemoryClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class ChangeFeed:
    """A subscription to a memory service's change feed: one ``MapUpdateAnnouncement`` per applied frame.

    The subscription reaches the service a moment after connecting; what was published before, and
    what the service drops for a subscriber that does not keep up, is not received (the feed is a
    hint, the memory is the truth). Iterating waits for announcements without a time limit.
    """

    def __init__(self, endpoint: str, curve: CurveClientConfig | None = None, timeout: float = 10.0) -> None:
        self.endpoint, self.timeout = endpoint, timeout
        self._context = zmq.Context()
        self._socket = connect(self._context, zmq.SUB, endpoint, CLIENT, curve,
                               subscribe=MapUpdateAnnouncement.TOPIC)

    def recv(self, timeout: float | None = None) -> MapUpdateAnnouncement:
        """The next announcement; ``ServiceTimeoutError`` if none comes within ``timeout`` seconds
        (None = the feed's ``timeout``, ``math.inf`` = no limit)."""
        timeout = self.timeout if timeout is None else timeout
        if not self._socket.poll(-1 if math.isinf(timeout) else int(timeout * 1000)):
            raise ServiceTimeoutError(f"no change announced on {self.endpoint} within {timeout:.1f} s")
        _topic, *frames = self._socket.recv_multipart()
        return MapUpdateAnnouncement.from_message(_decode(frames, self.endpoint))

    def __iter__(self) -> Iterator[MapUpdateAnnouncement]:
        while True:
            yield self.recv(math.inf)

    def close(self) -> None:
        self._socket.close(linger=0)
        self._context.term()

    def __enter__(self) -> ChangeFeed:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _concept(text: str | None, embedding: np.ndarray | None, threshold: float | None) -> dict:
    if (text is None) == (embedding is None):
        raise ValueError("give exactly one of text or embedding")
    return {"text": text, "embedding": None if embedding is None else np.asarray(embedding, dtype=np.float32),
            "threshold": None if threshold is None else float(threshold)}


def _decode(frames: list[bytes], endpoint: str) -> Message:
    try:
        return decode(frames)
    except ProtocolError as error:
        raise ProtocolError(error.code, f"undecodable message from {endpoint}: {error}", error.request_id) from None


def _typed(reply: Message, expected: type[R]) -> R:
    """The reply as an ``expected``; an ``error`` reply raises ``ServiceError``."""
    if reply.type == ErrorReply.TYPE:
        error = ErrorReply.from_message(reply)
        raise ServiceError(error.code.value, error.message, reply.id)
    return expected.from_message(reply)
