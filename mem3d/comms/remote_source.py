"""A ``Source`` fed over ZeroMQ: observations published by a robot or a simulator process.

The publisher (``mem3d sim serve``, a robot driver) sends ``observation`` messages on a PUB socket
with the topic ``obs``. This source subscribes and always returns the newest observation it has:
older ones waiting in the queue are dropped (latest-only, as sensor streams should be). It is
passive: ``act`` reports that it cannot act.
"""

from __future__ import annotations

import zmq

from mem3d.comms.sockets import STREAM_SUBSCRIBER, connect
from mem3d.errors import EndOfStreamError, Mem3dError
from mem3d.protocol.messages import message_to_observation
from mem3d.protocol.topics import END_TOPIC, OBSERVATION_TOPIC
from mem3d.protocol.wire import ProtocolError, decode
from mem3d.source import Action, ActionResult
from mem3d.types import Observation


class RemoteSource:
    """Subscribes to an observation stream; ``observe`` blocks up to ``timeout`` seconds."""

    def __init__(self, endpoint: str, timeout: float = 30.0) -> None:
        self.endpoint, self.timeout = endpoint, timeout
        self._context = zmq.Context()
        self._socket = connect(self._context, zmq.SUB, endpoint, STREAM_SUBSCRIBER, subscribe=OBSERVATION_TOPIC)
        self._last_obs_id = -1

    def reset(self, seed: int | None = None) -> Observation:
        return self.observe()

    def observe(self) -> Observation:
        """The newest observation not returned before (skipping any that queued up meanwhile)."""
        newest = None
        while newest is None:
            if not self._socket.poll(int(self.timeout * 1000)):
                raise Mem3dError(f"no observation from {self.endpoint} within {self.timeout:.0f} s")
            while self._socket.poll(0):
                topic, *frames = self._socket.recv_multipart()
                if topic == END_TOPIC:
                    raise EndOfStreamError(f"the stream at {self.endpoint} has ended")
                try:
                    obs = message_to_observation(decode(frames))
                except ProtocolError:
                    continue  # a damaged message is skipped like a dropped one
                if obs.obs_id > self._last_obs_id:
                    newest = obs
        self._last_obs_id = newest.obs_id
        return newest

    def act(self, action: Action) -> ActionResult:
        return ActionResult(False, "a remote observation stream does not take actions")

    def close(self) -> None:
        self._socket.close(linger=0)
        self._context.term()
