"""Publish the embedded simulator's observations over ZeroMQ, like a robot streaming its camera.

``mem3d sim serve`` tours the apartment (``sim.tour``) and publishes every observation on an XPUB
socket (topic ``obs``) at a fixed rate; between rounds it can rearrange the small objects. A
perception node reads the stream with ``mem3d.comms.remote_source.RemoteSource`` (latest-only).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import zmq

from mem3d.comms.endpoints import DEFAULT_OBSERVATIONS
from mem3d.comms.sockets import STREAM_PUBLISHER, bind, send_end_marker
from mem3d.protocol.messages import observation_to_message
from mem3d.protocol.topics import OBSERVATION_TOPIC
from mem3d.protocol.wire import encode
from sim.embedded import EmbeddedSimSource
from sim.tour import room_tour

log = logging.getLogger("mem3d.sim")


@dataclass(frozen=True)
class StreamConfig:
    endpoint: str = DEFAULT_OBSERVATIONS
    rate_hz: float = 5.0
    """Observations per second (0 = as fast as the simulator renders)."""
    rounds: int = 1
    """Tours of the apartment."""
    rearrange_fraction: float = 0.0
    """Share of small objects moved to other rooms before each round after the first."""
    wait_for_subscriber_s: float = 60.0
    """Wait this long for a first subscriber before publishing (0 = do not wait)."""


def stream_tours(source: EmbeddedSimSource, config: StreamConfig) -> int:
    """Publish the tours; returns the number of observations sent."""
    context = zmq.Context()
    socket = bind(context, zmq.XPUB, config.endpoint, STREAM_PUBLISHER)
    try:
        if config.wait_for_subscriber_s > 0 and socket.poll(int(config.wait_for_subscriber_s * 1000)):
            socket.recv()  # the subscription message
        period = 1.0 / config.rate_hz if config.rate_hz > 0 else 0.0
        sent, next_time = 0, time.monotonic()
        obs = source.reset()
        for round_ in range(config.rounds):
            if round_ and config.rearrange_fraction > 0:
                moved = source.dynamics.rearrange(config.rearrange_fraction, seed=round_)
                log.info("round %d: rearranged %d of %d objects", round_ + 1, moved.moved, moved.requested)
            for action in [None, *room_tour(source)]:
                if action is not None:
                    source.act(action)
                    obs = source.observe()
                socket.send_multipart([OBSERVATION_TOPIC] + encode(observation_to_message(obs)), copy=False)
                sent += 1
                next_time += period
                time.sleep(max(0.0, next_time - time.monotonic()))
        if not send_end_marker(socket):
            log.warning("the end of the stream could not be sent within 5 s: a reader may wait for more")
        return sent
    finally:
        socket.close()
        context.term()
