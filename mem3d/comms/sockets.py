"""ZeroMQ sockets made in one place: the options of each role, CurveZMQ, bind and connect.

Latest-only sensor streams keep short queues (high-water mark 4) and the reader drains what is
queued, keeping the newest. ``ZMQ_CONFLATE`` would keep only one frame of a multipart message, so
it cannot carry mem3d messages (a topic, a header and array frames).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import zmq

from mem3d.comms.auth import CurveClientConfig, CurveServerConfig, secure_client_socket, secure_server_socket
from mem3d.errors import InvalidInputError
from mem3d.protocol.wire import MAX_MESSAGE_BYTES


@dataclass(frozen=True)
class SocketOptions:
    linger_ms: int = 0
    """How long ``close`` may wait to deliver queued messages."""
    send_hwm: int | None = None
    """Messages queued per peer before sending drops or blocks; None = libzmq's default (1000)."""
    receive_hwm: int | None = None
    """Messages queued for reading; None = libzmq's default (1000)."""
    max_message_bytes: int | None = None
    """libzmq drops a peer that sends a larger frame; None = no limit."""

    def apply(self, socket: zmq.Socket) -> None:
        socket.setsockopt(zmq.LINGER, self.linger_ms)
        if self.send_hwm is not None:
            socket.setsockopt(zmq.SNDHWM, self.send_hwm)
        if self.receive_hwm is not None:
            socket.setsockopt(zmq.RCVHWM, self.receive_hwm)
        if self.max_message_bytes is not None:
            socket.setsockopt(zmq.MAXMSGSIZE, self.max_message_bytes)


SERVICE = SocketOptions(send_hwm=1000, max_message_bytes=2 * MAX_MESSAGE_BYTES)
"""The memory service's sockets; the frame cap is a hard stop, ``wire.decode`` enforces the real limit."""
CLIENT = SocketOptions()
"""Clients of the service: requests, ingest and the change feed."""
STREAM_PUBLISHER = SocketOptions(linger_ms=1000, send_hwm=4)
"""An observation stream: a slow reader gets fresh frames, not a backlog; the end marker gets out."""
STREAM_SUBSCRIBER = SocketOptions(receive_hwm=4)
"""A latest-only reader of an observation stream."""


def bind(context: zmq.Context, kind: int, endpoint: str, options: SocketOptions,
         curve: CurveServerConfig | None = None) -> zmq.Socket:
    """A socket of ``kind`` bound to ``endpoint`` (a CurveZMQ server with ``curve``)."""
    socket = context.socket(kind)
    options.apply(socket)
    if curve is not None:
        secure_server_socket(socket, curve)
    try:
        socket.bind(endpoint)
    except zmq.ZMQError as error:
        socket.close()
        raise InvalidInputError(endpoint_problem(endpoint, error, "listen on")) from None
    return socket


def connect(context: zmq.Context, kind: int, endpoint: str, options: SocketOptions,
            curve: CurveClientConfig | None = None, subscribe: bytes | None = None) -> zmq.Socket:
    """A socket of ``kind`` connected to ``endpoint`` (a CurveZMQ client with ``curve``); a SUB socket
    subscribes to the topic prefix ``subscribe``."""
    socket = context.socket(kind)
    options.apply(socket)
    if curve is not None:
        secure_client_socket(socket, curve)
    if subscribe is not None:
        socket.setsockopt(zmq.SUBSCRIBE, subscribe)
    try:
        socket.connect(endpoint)
    except zmq.ZMQError as error:
        socket.close()
        raise InvalidInputError(endpoint_problem(endpoint, error, "connect to")) from None
    return socket


def endpoint_problem(endpoint: str, error: zmq.ZMQError, doing: str) -> str:
    """One line saying why ``endpoint`` cannot be used, and what to give instead."""
    if error.errno == zmq.EADDRINUSE:
        return (f"cannot {doing} {endpoint}: the address is in use (is another `mem3d serve` or `mem3d sim "
                "serve` running? stop it, or choose other ports)")
    if "://" not in endpoint:
        return (f"{endpoint!r} is not a ZeroMQ endpoint: write it as tcp://HOST:PORT, "
                f"e.g. tcp://{endpoint if ':' in endpoint else '127.0.0.1:5555'}")
    return f"cannot {doing} {endpoint}: {error.strerror} (an endpoint looks like tcp://127.0.0.1:5555)"


def bound_endpoint(socket: zmq.Socket) -> str:
    """The endpoint a socket is bound to (the real port after binding ``tcp://HOST:*``)."""
    return socket.getsockopt_string(zmq.LAST_ENDPOINT)


def send_end_marker(socket: zmq.Socket, timeout_s: float = 5.0, repeats: int = 5, gap_s: float = 0.1) -> bool:
    """Send an observation stream's end marker (``END_TOPIC``) on a PUB or XPUB ``socket``.

    A latest-only stream drops frames at its send high-water mark, and would drop the marker too,
    leaving a slow reader waiting for a frame that never comes. The marker instead waits up to
    ``timeout_s`` for room in the reader's queue, and goes out ``repeats`` more times ``gap_s``
    apart, because libzmq can still drop a message it accepted into a full queue (a reader stops
    at the first marker). False if no copy could get out."""
    from mem3d.protocol.topics import END_TOPIC

    socket.setsockopt(zmq.XPUB_NODROP, 1)
    socket.setsockopt(zmq.SNDTIMEO, int(timeout_s * 1000))
    sent = False
    for attempt in range(1 + repeats):
        try:
            socket.send_multipart([END_TOPIC, b""], flags=0 if attempt == 0 else zmq.NOBLOCK)
            sent = True
        except zmq.Again:
            pass
        if attempt < repeats:
            time.sleep(gap_s)
    return sent
