"""Two copies of the map for queries, kept in step off the service loop, swapped by pointer.

The ingest worker hands each applied frame's changes (``Applied``) to a ``ReplicaFollower`` thread
(``mem3d-replica``). The follower keeps two ``MapView``s (a ``MapReplica`` and its traversability
grid): the loop answers queries from the front one while the follower brings the back one up to
date: it applies the changes of every frame the back one lacks and prepares their change-feed
messages, then hands it to the loop (``Published``). The loop makes it the front between two queries
(a pointer swap, no rows copied), sends the frames' acks and announcements, and gives the old front
back (``release``); the follower then applies to it the frames it lacks, and so on. Each frame's rows
are therefore written twice, in the follower, and never on the thread that answers queries.

What a query sees: the front view as of a frame ``seq`` (``replica.seq``, in every reply), whole: a
view is never written while it is the front. A frame is acknowledged and announced only once a front
holding it was published, so an acknowledged frame is in every later answer. The worker's other
results (refusals, duplicates, saves, its end) are forwarded in order with the frames.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from mem3d.nav.traversability import TraversabilityConfig, TraversabilityGrid
from mem3d.service.mailbox import Mailbox
from mem3d.service.replica import MapReplica
from mem3d.service.results import Applied, Stopped
from mem3d.types import MapUpdate
from mem3d.voxel_map import MapContents

log = logging.getLogger("mem3d.service")


class MapView:
    """What queries read: a replica of the map and the traversability grid, both as of frame ``seq``."""

    def __init__(self, contents: MapContents, seq: int, voxel_size: float,
                 traversability: TraversabilityConfig | None = None) -> None:
        """Copies of ``contents``, the map as of frame ``seq``."""
        self.replica = MapReplica(contents, seq)
        self.traversability = TraversabilityGrid.from_keys(
            self.replica.contents().columns["key"], voxel_size, traversability, seq)
        self.missing: list = []
        """``Applied`` frames this view lacks, oldest first."""

    @property
    def seq(self) -> int:
        return self.replica.seq

    def catch_up(self) -> None:
        """Apply the ``missing`` frames: their rows to the replica, their updates to the grid (rebuilt
        from the replica's voxels after a frame whose update is unknown, because applying it failed)."""
        for applied in self.missing:
            self.replica.apply(applied.changes, applied.seq)
            grid = self.traversability
            if applied.update is not None:
                grid.apply(applied.update, applied.seq)
            else:
                self.traversability = TraversabilityGrid.from_keys(
                    self.replica.contents().columns["key"], grid.voxel_size, grid.config, applied.seq, grid.stamp)
        self.missing = []


@dataclass(frozen=True)
class Published:
    """A view brought up to date: the loop makes it the front, then handles ``results`` in order
    (the acks of the frames it now holds among them) and releases the previous front."""

    view: MapView
    results: tuple


class ReplicaFollower:
    """The thread between the ingest worker's results and the service loop (see the module doc)."""

    def __init__(self, contents: MapContents, seq: int, voxel_size: float,
                 traversability: TraversabilityConfig | None, take: Callable[[float | None], list],
                 announce: Callable[[MapUpdate], list[bytes] | None]) -> None:
        """Two views of ``contents`` (the map as of frame ``seq``). ``take(timeout)`` returns the
        worker's next results (``IngestWorker.results``); ``announce`` makes a frame's change-feed
        message (``ChangePublisher.announcement``)."""
        self._views = (MapView(contents, seq, voxel_size, traversability),
                       MapView(contents, seq, voxel_size, traversability))
        self.front = self._views[0]
        """The view the loop answers from (set by ``swap``, on the loop's thread)."""
        self._published = 0
        """Which of ``_views`` the follower published last (the other one is the back)."""
        self._take, self._announce = take, announce
        self._back_free = threading.Event()
        self._back_free.set()
        self.mailbox = Mailbox()
        """Where the loop takes ``Published`` views and the worker's other results from."""
        self._thread = threading.Thread(target=self._run, name="mem3d-replica", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def swap(self, published: Published) -> None:
        """On the loop's thread, between two queries: answer from ``published.view`` from now on, and
        let the follower bring the previous front up to date."""
        self.front = published.view
        self._back_free.set()

    def join(self) -> None:
        if self._thread.ident is not None:
            self._thread.join()
        self.mailbox.close()

    # --- the follower thread --------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                pending = self._take(None)
                for i, result in enumerate(pending):
                    if isinstance(result, Applied):
                        if result.update is not None:
                            pending[i] = replace(result, announcement=self._announce(result.update))
                        for view in self._views:
                            view.missing.append(pending[i])
                if any(isinstance(result, Applied) for result in pending):
                    self._publish(tuple(pending))
                else:
                    for result in pending:
                        self.mailbox.post(result)
                if any(isinstance(result, Stopped) for result in pending):
                    return
        except BaseException as error:  # the views can no longer follow the map: the service stops
            log.exception("the replica follower stopped")
            self.mailbox.post(Stopped(error))

    def _publish(self, results: tuple) -> None:
        """Bring the back view up to date, once the loop no longer reads it, and hand it over."""
        self._back_free.wait()
        self._back_free.clear()
        self._published = 1 - self._published
        back = self._views[self._published]
        back.catch_up()
        self.mailbox.post(Published(back, results))
