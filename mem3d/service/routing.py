"""A ROUTER socket's side of request and reply: routing envelopes, and replies that never block."""

from __future__ import annotations

import logging

import zmq

from mem3d.protocol.codec import WireMessage
from mem3d.protocol.wire import encode

log = logging.getLogger("mem3d.service")


class Router:
    """Requests in, replies out, on one ROUTER socket (DEALER and REQ peers)."""

    def __init__(self, socket: zmq.Socket) -> None:
        self.socket = socket

    def receive(self) -> tuple[list[bytes], list[bytes]] | None:
        """The next waiting request as (routing envelope, message frames); None if none waits."""
        try:
            raw = self.socket.recv_multipart(zmq.NOBLOCK, copy=True)
        except zmq.Again:
            return None
        if len(raw) > 1 and raw[1] == b"":  # a REQ peer adds an empty delimiter
            return raw[:2], raw[2:]
        return raw[:1], raw[1:]

    def reply(self, envelope: list[bytes], request_id: int, reply: WireMessage) -> None:
        """Send without ever blocking: a vanished client's reply is dropped by the ROUTER."""
        try:
            self.socket.send_multipart(envelope + encode(reply.to_message(request_id)), zmq.NOBLOCK, copy=False)
        except zmq.Again:
            log.warning("dropped a reply: the client is not reading")
