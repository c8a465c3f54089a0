"""Reading a store without writing it: the checkpoint plus the intact log after it, for offline tools
and scripts, also while a service writes the store (no write lock is taken; ``mem3d.io.lock``)."""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from mem3d.episodic.memory import EpisodicMemory
from mem3d.errors import StoreError
from mem3d.io.checkpoint import CURRENT, read_current
from mem3d.io.episodic_store import KeyframeFiles
from mem3d.io.verify import StoreReport, Verdict, inspect_store
from mem3d.service.durable import open_episodic, replay
from mem3d.voxel_map import VoxelMap

log = logging.getLogger("mem3d.service")


@dataclass(frozen=True)
class StoreView:
    """A store as a reader sees it (``open_store_readonly``)."""

    voxel_map: VoxelMap
    """The checkpoint plus every intact log record after it, in memory only."""
    seq: int
    """The newest log sequence number applied."""
    checkpoint: str | None
    replayed: int
    """Log records applied after the checkpoint."""
    report: StoreReport
    episodic: EpisodicMemory
    """The episodic memory as of the same record (replayed keyframes' images are kept in memory)."""


def open_store_readonly(store: str | Path, attempts: int = 5) -> StoreView:
    """The memory in ``store`` as of its newest intact record, without the write lock and without
    writing anything: for offline tools and scripts, also while a service writes the store.

    A record the writer is in the middle of appending is a torn tail here, and left out. A damaged
    store raises ``StoreError`` with the report (as ``mem3d store check`` prints it); a check that a
    live writer's checkpoint overtook (``CURRENT`` changed meanwhile) is retried up to ``attempts`` times.
    """
    store = Path(store)
    for attempt in range(attempts):
        current = read_current(store)
        try:
            report = inspect_store(store)
            if report.verdict is Verdict.DAMAGED:
                raise StoreError(f"store {store} is damaged\n{report.describe()}")
            if report.base.voxel_map is None:
                raise StoreError(f"{store} is not a mem3d map store yet (no {CURRENT} file, no checkpoint)")
            voxel_map = report.base.voxel_map
            episodic = open_episodic(store, report.base.name, KeyframeFiles(store, writable=False), voxel_map)
            seq, replayed = replay(voxel_map, OrderedDict(report.base.sources), report, episodic)
            return StoreView(voxel_map, seq, report.base.name, replayed, report, episodic)
        except StoreError:
            if attempt == attempts - 1 or read_current(store) == current:
                raise
            log.info("%s: a checkpoint was written while the store was read; reading it again", store)
    raise AssertionError("unreachable")
