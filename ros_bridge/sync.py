"""Approximate time synchronisation of image streams (bag ingestion and the live node share it).

One stream is the pivot (the colour image). Each pivot message is matched, per other stream, with the
message whose stamp is closest to it, once that stream has delivered a message at or after the pivot's
stamp (or the input has ended: ``flush``); a match farther than ``slop_s`` leaves the pivot
*unsynchronised*. Messages arrive in stamp order per stream. Used messages, and those older than them,
leave their queue; a queue longer than ``queue_size`` drops its oldest message (*dropped*).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Stamped:
    stamp: float
    """Header stamp, seconds."""
    item: Any


@dataclass(frozen=True)
class SyncedSet:
    stamp: float
    """The pivot's stamp, seconds."""
    items: dict[str, Any]
    """Stream name -> its message (the pivot's included)."""


@dataclass
class SyncCounts:
    synced: int = 0
    unsynchronised: int = 0
    """Pivot messages without a partner within the slop in some stream."""
    dropped: dict[str, int] = field(default_factory=dict)
    """Stream -> messages pushed out of a full queue before they could be used."""
    worst_gap_s: float = 0.0
    """Largest stamp difference of a rejected match, seconds (tells how large a slop would be needed)."""


class ApproximateSync:
    def __init__(self, pivot: str, others: list[str], slop_s: float = 0.05, queue_size: int = 30) -> None:
        self.pivot, self.others, self.slop_s, self.queue_size = pivot, list(others), slop_s, queue_size
        self._queues: dict[str, deque[Stamped]] = {name: deque() for name in [pivot, *self.others]}
        self._latest: dict[str, float] = {}
        self.counts = SyncCounts(dropped={name: 0 for name in self._queues})

    def add(self, stream: str, stamp: float, item: Any) -> list[SyncedSet]:
        """Queue one message; returns the sets this made complete (oldest first)."""
        queue = self._queues[stream]
        queue.append(Stamped(float(stamp), item))
        self._latest[stream] = max(self._latest.get(stream, float("-inf")), float(stamp))
        if len(queue) > self.queue_size:
            queue.popleft()
            self.counts.dropped[stream] += 1
        return self._resolve(final=False)

    def flush(self) -> list[SyncedSet]:
        """Match what is left (the input has ended)."""
        sets = self._resolve(final=True)
        self.counts.unsynchronised += len(self._queues[self.pivot])
        self._queues[self.pivot].clear()
        return sets

    def _resolve(self, final: bool) -> list[SyncedSet]:
        out: list[SyncedSet] = []
        pivots = self._queues[self.pivot]
        while pivots:
            head = pivots[0]
            if not final and any(self._latest.get(name, float("-inf")) < head.stamp for name in self.others):
                break
            pivots.popleft()
            matched = self._match(head)
            if matched is not None:
                out.append(matched)
        return out

    def _match(self, head: Stamped) -> SyncedSet | None:
        chosen: dict[str, int] = {}
        for name in self.others:
            queue = self._queues[name]
            while len(queue) > 1 and queue[1].stamp <= head.stamp:
                queue.popleft()  # a later message is closer to this pivot and to every later one
            if not queue:
                self.counts.unsynchronised += 1
                return None
            gaps = [abs(m.stamp - head.stamp) for m in queue]
            best = min(range(len(queue)), key=gaps.__getitem__)
            if gaps[best] > self.slop_s:
                self.counts.unsynchronised += 1
                self.counts.worst_gap_s = max(self.counts.worst_gap_s, gaps[best])
                return None
            chosen[name] = best
        items = {self.pivot: head.item}
        for name, best in chosen.items():
            queue = self._queues[name]
            for _ in range(best):
                queue.popleft()
            items[name] = queue.popleft().item
        self.counts.synced += 1
        return SyncedSet(head.stamp, items)
