"""The perception node: observations from a ``Source`` -> feature frames -> the memory service.

Two delivery modes:
- lossless (recorded data, the default): every observation is sent; at most ``max_in_flight`` frames
  wait for their acknowledgement, and after a timeout the unacknowledged ones are sent again on a
  fresh connection (the service drops duplicates by ``(source, obs_id)``), so nothing is lost.
  ``run`` encodes up to the encoder's ``batch_size`` observations in one pass.
- live (``live=True``, real sensors): latest-only backpressure. When ``max_in_flight`` frames are
  unacknowledged the node skips observations without encoding them, so it never falls behind the
  sensor; the memory always gets the most recent view it can take. Frames unacknowledged after
  ``ack_timeout_s`` are given up (counted as lost) and the connection is renewed, so a lost
  acknowledgement or a restarted service never stops delivery.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import NamedTuple

from mem3d.client import MemoryClient, ServiceError, ServiceTimeoutError
from mem3d.errors import EndOfStreamError, Mem3dError
from mem3d.source import Action, Source
from mem3d.types import FeatureFrame, Observation
from perception.config import FrameConfig
from perception.degradation import DegradationConfig, degrade
from perception.encoders.base import FeatureEncoder
from perception.frames import build_feature_frame, build_feature_frames

log = logging.getLogger("mem3d.perception")


@dataclass(frozen=True)
class DeliveryConfig:
    live: bool = False
    """Latest-only: skip observations while the memory is behind (for live sensors)."""
    max_in_flight: int = 4
    """Frames sent and not yet acknowledged."""
    ack_timeout_s: float = 30.0
    """Seconds to wait for an acknowledgement before re-sending (lossless) or giving up (live)."""
    max_resends: int = 3
    """Times the unacknowledged frames are re-sent before giving up."""


@dataclass
class NodeStats:
    observed: int = 0
    sent: int = 0
    acknowledged: int = 0
    duplicates: int = 0
    skipped: int = 0
    """Live mode: observations not encoded because the memory was behind."""
    refused: list[str] = field(default_factory=list)
    """Error messages of frames the service refused (bad data; not re-sent)."""
    resends: int = 0
    lost: int = 0
    """Live mode: frames given up after ``ack_timeout_s`` without an acknowledgement (the memory
    may or may not have applied them)."""


class _InFlight(NamedTuple):
    frame: FeatureFrame
    sent_at: float
    """``time.monotonic()`` when sent, seconds."""


class PerceptionNode:
    """Encodes observations and delivers them to a memory service."""

    def __init__(self, encoder: FeatureEncoder, client: MemoryClient, frame_config: FrameConfig | None = None,
                 delivery: DeliveryConfig | None = None, name: str = "perception",
                 degradation: DegradationConfig | None = None) -> None:
        self.encoder, self.client = encoder, client
        self.frame_config = frame_config or FrameConfig()
        self.degradation = degradation or DegradationConfig()
        """Errors added to each observation before encoding (evaluations of degraded perception)."""
        self.delivery = delivery or DeliveryConfig()
        self.source_id = f"{name}/{uuid.uuid4().hex[:12]}"
        """Names this run for the service's duplicate check (a new run starts its own sequence)."""
        self.stats = NodeStats()
        self._in_flight: OrderedDict[int, _InFlight] = OrderedDict()
        """Sent, unacknowledged frames by request id, oldest first."""

    def process(self, obs: Observation) -> bool:
        """Encode and send one observation; returns False if live mode skipped it."""
        if not self.delivery.live:
            self.process_batch([obs])
            return True
        self.stats.observed += 1
        self._collect_acks(wait=False)
        self._drop_stale()
        if len(self._in_flight) >= self.delivery.max_in_flight:
            self.stats.skipped += 1
            return False
        self._send(build_feature_frame(degrade(obs, self.degradation), self.encoder, self.frame_config))
        return True

    def process_batch(self, observations: list[Observation]) -> None:
        """Lossless mode: encode ``observations`` in one encoder call and send them all, first waiting
        until they fit in ``max_in_flight`` (or nothing is in flight, for a larger batch)."""
        self.stats.observed += len(observations)
        while self._in_flight and len(self._in_flight) + len(observations) > self.delivery.max_in_flight:
            self._collect_acks(wait=True)
        observations = [degrade(obs, self.degradation) for obs in observations]
        for frame in build_feature_frames(observations, self.encoder, self.frame_config):
            self._send(frame)

    def run(self, source: Source, actions: Iterable[Action] | None = None, max_frames: int | None = None,
            seed: int | None = None, reset: bool = True) -> NodeStats:
        """Observe the source (after each action, if given) until the actions, the stream or
        ``max_frames`` run out; then wait for every acknowledgement. The first observation is
        ``source.reset(seed)``; ``reset=False`` continues the episode where it is instead (the first
        observation then follows the first action). Lossless mode encodes up to the encoder's
        ``batch_size`` (at most ``max_in_flight``) observations at a time."""
        observations = _observations(source, actions, max_frames, seed, reset)
        if self.delivery.live:
            for obs in observations:
                self.process(obs)
        else:
            size = max(1, min(self.encoder.batch_size, self.delivery.max_in_flight))
            while batch := list(islice(observations, size)):
                self.process_batch(batch)
        self.flush()
        return self.stats

    def flush(self) -> None:
        """Wait until every sent frame is acknowledged (or refused). Live mode waits at most
        ``ack_timeout_s`` and counts what is still unacknowledged then as lost, never re-sending."""
        if self.delivery.live:
            deadline = time.monotonic() + self.delivery.ack_timeout_s
            while self._in_flight and time.monotonic() < deadline:
                self._collect_acks(wait=False)
                time.sleep(0.01)
            self.stats.lost += len(self._in_flight)
            self._in_flight.clear()
            return
        while self._in_flight:
            self._collect_acks(wait=True)

    def _send(self, frame: FeatureFrame) -> None:
        request_id = self.client.send_frame(frame, self.source_id)
        self._in_flight[request_id] = _InFlight(frame, time.monotonic())
        self.stats.sent += 1

    def _drop_stale(self) -> None:
        """Live mode: once the oldest frame in flight has waited ``ack_timeout_s``, give up every frame
        in flight (their acknowledgements would come to the old connection) and reconnect."""
        if not self._in_flight:
            return
        oldest = next(iter(self._in_flight.values()))
        if time.monotonic() - oldest.sent_at < self.delivery.ack_timeout_s:
            return
        log.warning("no acknowledgement within %.1f s: dropping %d frames in flight and reconnecting",
                    self.delivery.ack_timeout_s, len(self._in_flight))
        self.stats.lost += len(self._in_flight)
        self._in_flight.clear()
        self.client.reconnect_ingest()

    def _collect_acks(self, wait: bool) -> None:
        """Take the acknowledgements that have arrived; with ``wait``, at least one (re-sending the
        unacknowledged frames after each timeout)."""
        resends = 0
        timeout = self.delivery.ack_timeout_s if wait else 0.0
        while self._in_flight:
            try:
                request_id, ack = self.client.receive_ack(timeout)
            except ServiceError as error:
                self._in_flight.pop(error.request_id, None)
                self.stats.refused.append(str(error))
                log.warning("the memory refused a frame: %s", error)
            except ServiceTimeoutError:
                if timeout == 0.0:
                    return
                if resends == self.delivery.max_resends:
                    raise Mem3dError(f"the memory service acknowledged nothing after {resends} re-sends "
                                     f"of {len(self._in_flight)} frames") from None
                resends += 1
                self._resend_all()
                continue
            else:
                if self._in_flight.pop(request_id, None) is not None:
                    self.stats.acknowledged += 1
                    self.stats.duplicates += int(ack.duplicate)
            timeout = 0.0  # got one: now only drain what is already there

    def _resend_all(self) -> None:
        log.warning("no acknowledgement within %.0f s; re-sending %d frames", self.delivery.ack_timeout_s,
                    len(self._in_flight))
        frames = [sent.frame for sent in self._in_flight.values()]
        self._in_flight.clear()
        self.client.reconnect_ingest()
        for frame in frames:
            self._send(frame)
        self.stats.resends += 1


def _observations(source: Source, actions: Iterable[Action] | None, max_frames: int | None,
                  seed: int | None, reset: bool) -> Iterator[Observation]:
    """The reset observation (if ``reset``), then one after each action (or each ``observe``), until
    the actions, the stream or ``max_frames`` run out."""
    if max_frames is not None and max_frames < 1:
        return
    count = 0
    if reset:
        yield source.reset(seed)
        count = 1
    steps = iter(actions) if actions is not None else None
    while max_frames is None or count < max_frames:
        try:
            if steps is not None:
                action = next(steps, None)
                if action is None:
                    return
                source.act(action)
            obs = source.observe()
        except EndOfStreamError:
            return
        count += 1
        yield obs
