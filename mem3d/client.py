"""A typed Python client of the memory service (protocol: docs/protocol.md).

    with MemoryClient("tcp://127.0.0.1:5555") as memory:
        result = memory.localize(text="red mug")
        if not result.found: ...explore...

Every call has a timeout. After a timeout the socket is replaced (a lost reply cannot confuse a
later call), and read-only requests are retried ``retries`` times before ``ServiceTimeoutError``.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, fields

import numpy as np
import zmq

from mem3d.comms.auth import CurveClientConfig, secure_client_socket
from mem3d.errors import Mem3dError
from mem3d.protocol import messages
from mem3d.protocol.wire import Message, ProtocolError, decode, encode
from mem3d.types import FeatureFrame, LocalizeResult


class ServiceError(Mem3dError):
    """The service answered with an error; ``code`` is one of the protocol's error codes."""

    def __init__(self, code: str, message: str, request_id: int = 0) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.request_id = request_id
        """The id of the refused request (0 if the service could not read it)."""


class ServiceTimeoutError(Mem3dError):
    """No answer within the timeout (service down, unreachable, or refusing our key)."""


@dataclass(frozen=True)
class IngestAck:
    obs_id: int
    seq: int
    duplicate: bool
    added: int = 0
    updated: int = 0
    removed: int = 0
    evicted: int = 0
    contradicted: int = 0


@dataclass(frozen=True)
class ServiceStats:
    n_voxels: int
    feature_dim: int
    feature_model: str
    voxel_size: float
    map_bytes: int
    log_seq: int
    frames_ingested: int
    frames_since_checkpoint: int
    last_checkpoint: str | None
    uptime_s: float
    text_queries: bool


def _typed(cls, values: dict):
    return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})


class _Channel:
    """One DEALER socket with request ids, timeouts and reconnection."""

    def __init__(self, context: zmq.Context, endpoint: str, curve: CurveClientConfig | None) -> None:
        self._context, self.endpoint, self._curve = context, endpoint, curve
        self._ids = itertools.count(1)
        self._socket = self._connect()

    def _connect(self) -> zmq.Socket:
        socket = self._context.socket(zmq.DEALER)
        socket.setsockopt(zmq.LINGER, 0)
        if self._curve is not None:
            secure_client_socket(socket, self._curve)
        socket.connect(self.endpoint)
        return socket

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
            try:
                reply = decode(self._socket.recv_multipart())
            except ProtocolError as error:
                raise Mem3dError(f"undecodable reply from {self.endpoint}: {error}") from None
            if request_id is None or reply.id == request_id:
                return reply

    def close(self) -> None:
        self._socket.close(linger=0)


class MemoryClient:
    """Requests to a memory service; ingest goes to its ingest endpoint (default: request port + 1)."""

    def __init__(self, endpoint: str = "tcp://127.0.0.1:5555", ingest_endpoint: str | None = None,
                 timeout: float = 10.0, retries: int = 1, curve: CurveClientConfig | None = None) -> None:
        self.timeout, self.retries = timeout, retries
        self._context = zmq.Context()
        self._requests = _Channel(self._context, endpoint, curve)
        self._ingest_endpoint = ingest_endpoint or _next_port(endpoint)
        self._curve = curve
        self._ingest: _Channel | None = None

    # --- queries ---------------------------------------------------------------------------

    def ping(self) -> dict:
        return self._call(Message("ping"), idempotent=True).fields

    def stats(self) -> ServiceStats:
        return _typed(ServiceStats, self._call(Message("stats"), idempotent=True).fields)

    def localize(self, text: str | None = None, embedding: np.ndarray | None = None, top_k: int = 5,
                 threshold: float | None = None) -> LocalizeResult:
        """Ranked candidates for a text (needs a service started with an encoder) or an embedding."""
        request = messages.localize_request(text, embedding, top_k, threshold)
        return messages.message_to_result(self._call(request, idempotent=True))

    def save(self) -> str:
        """Write a checkpoint now; returns its name."""
        return self._call(Message("save"), idempotent=False).fields["checkpoint"]

    def shutdown(self) -> None:
        """Ask the service to checkpoint and exit."""
        self._call(Message("shutdown"), idempotent=False)

    def _call(self, request: Message, idempotent: bool) -> Message:
        attempts = 1 + (self.retries if idempotent else 0)
        for attempt in range(attempts):
            try:
                request_id = self._requests.send(request, self.timeout)
                return _check(self._requests.receive(request_id, self.timeout))
            except ServiceTimeoutError:
                self._requests.reconnect()
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

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
        return reply.id, _typed(IngestAck, _check(reply).fields)

    def ingest(self, frame: FeatureFrame, source: str) -> IngestAck:
        """Send one frame and wait until it is durable in the memory."""
        channel = self._ingest_channel()
        try:
            request_id = self.send_frame(frame, source)
            return _typed(IngestAck, _check(channel.receive(request_id, self.timeout)).fields)
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


def _check(reply: Message) -> Message:
    if reply.type == messages.ERROR:
        raise ServiceError(str(reply.fields.get("code")), str(reply.fields.get("message")), reply.id)
    return reply


def _next_port(endpoint: str) -> str:
    """tcp://host:5555 -> tcp://host:5556 (the default layout of ``mem3d serve``)."""
    head, _, port = endpoint.rpartition(":")
    if not port.isdigit():
        raise ValueError(f"cannot derive the ingest endpoint from {endpoint!r}; pass ingest_endpoint")
    return f"{head}:{int(port) + 1}"
