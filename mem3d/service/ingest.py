"""The ingest endpoint's work: read frames in batches, log them durably, apply them one at a time.

A batch of up to ``BATCH`` waiting ingests is read at once: bad ones are refused, duplicates are
acknowledged as such, and the rest are logged with one fsync (group commit). The logged frames then
wait in ``pending`` and are applied one per call of ``apply_next``, so the service loop can answer
queries between two frames. Each applied frame is acknowledged and announced on the change feed.
"""

from __future__ import annotations

import logging
from collections import deque

from mem3d.protocol.announcements import update_counts
from mem3d.protocol.messages import message_to_frame
from mem3d.protocol.replies import ErrorReply, IngestAck
from mem3d.protocol.requests import IngestRequest
from mem3d.protocol.wire import ErrorCode, ProtocolError, decode
from mem3d.service.changes import ChangePublisher
from mem3d.service.durable import DurableMemory, Ingest, IngestOutcome, Logged
from mem3d.service.routing import Router
from mem3d.types import FeatureFrame

log = logging.getLogger("mem3d.service")
BATCH = 16
"""Ingests read (and logged with one fsync) at a time."""


class IngestQueue:
    def __init__(self, router: Router, memory: DurableMemory, feed: ChangePublisher) -> None:
        self.router, self.memory, self.feed = router, memory, feed
        self._pending: deque[tuple[list[bytes], int, Logged]] = deque()
        """(routing envelope, request id, logged ingest), oldest first."""
        self.frames_applied = 0

    @property
    def pending(self) -> bool:
        """Whether logged frames wait to be applied."""
        return bool(self._pending)

    def next_frame(self) -> FeatureFrame:
        """The frame ``apply_next`` applies (there must be one pending)."""
        return self._pending[0][2].item.frame

    def receive_batch(self) -> None:
        """Receive waiting ingests, refuse the bad ones, and log the rest durably (one fsync)."""
        received: list[tuple[list[bytes], int, Ingest]] = []
        for _ in range(BATCH):
            waiting = self.router.receive()
            if waiting is None:
                break
            envelope, frames = waiting
            request_id = 0
            try:
                message = decode(frames)
                request_id = message.id
                if message.type != IngestRequest.TYPE:
                    raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"the ingest endpoint takes only 'ingest', "
                                                                f"got {message.type!r}")
                frame, source = message_to_frame(message)
                received.append((envelope, request_id, Ingest(frames, frame, source)))
            except ProtocolError as error:
                self.router.reply(envelope, request_id or error.request_id, ErrorReply.of(error))
            except Exception as error:  # a bug must not take the service down; nothing was logged
                log.exception("internal error while reading an ingest")
                self.router.reply(envelope, request_id, ErrorReply.of(error))
        if not received:
            return
        outcomes, logged = self.memory.log([item for _, _, item in received])
        for (envelope, request_id, item), outcome in zip(received, outcomes):
            if isinstance(outcome, IngestOutcome):  # a duplicate
                self.router.reply(envelope, request_id, IngestAck(obs_id=item.frame.obs_id, seq=0, duplicate=True))
            elif outcome is not None:
                self.router.reply(envelope, request_id, ErrorReply.of(outcome))
        self._pending.extend((received[entry.index][0], received[entry.index][1], entry) for entry in logged)

    def apply_next(self) -> None:
        """Apply the oldest logged ingest, acknowledge it and announce the change."""
        envelope, request_id, entry = self._pending.popleft()
        try:
            outcome = self.memory.apply(entry)
        except Exception as error:  # unreachable for checked frames; a bug must not stop the service
            log.exception("internal error while applying ingest %d", entry.seq)
            self.router.reply(envelope, request_id, ErrorReply(code=ErrorCode.INTERNAL,
                                                               message=f"internal error: {error}"))
            return
        self.frames_applied += 1
        self.router.reply(envelope, request_id, IngestAck(obs_id=entry.item.frame.obs_id, seq=outcome.seq,
                                                          duplicate=False, **update_counts(outcome.update)))
        self.feed.publish(outcome.update)

    def apply_all(self) -> None:
        while self._pending:
            self.apply_next()
