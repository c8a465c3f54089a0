"""Making a damaged store open again, with the loss stated: ``mem3d store repair DIR --accept-loss``.

A repair first reports (``inspect_store``) exactly which acknowledged records are lost, then, only
with ``accept_loss``, under the store's write lock:

1. creates ``DIR/quarantine-<UTC time>/`` with ``REPORT.txt`` (the report) and moves into it every
   file it takes out of the store;
2. if the checkpoint ``CURRENT`` names is missing or damaged: moves the other checkpoints out and
   points ``CURRENT`` at the newest one that loads (or removes it: the map restarts empty);
3. rewrites the log as one new segment holding every intact record after that checkpoint, with a
   loss marker (``mem3d.io.wal_format``) for each run of lost records, and resets ``wal/ACKED``.

The store then opens with every intact record and says, as it replays the markers, what was lost.
A torn tail alone needs no consent: it was never acknowledged (a writer cuts it the same way).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from mem3d.errors import StoreError
from mem3d.io.checkpoint import CURRENT, list_checkpoints, read_current
from mem3d.io.durable_files import atomic_write_text, fsync_dir
from mem3d.io.episodic_store import EPISODIC
from mem3d.io.lock import StoreLock
from mem3d.io.verify import (
    ACKED,
    WAL,
    BadBytes,
    StoreReport,
    Verdict,
    inspect_store,
    read_records,
    segment_name,
    segment_numbers,
)
from mem3d.io.wal_format import encode_acked, encode_loss, encode_record

QUARANTINE = "quarantine-"


@dataclass(frozen=True)
class RepairResult:
    report: StoreReport
    """What the store held before the repair."""
    changed: bool
    quarantine: Path | None
    """Where the removed files are (None if nothing was removed)."""


def new_quarantine(store: Path, report_text: str) -> Path:
    """A fresh ``quarantine-<UTC time>`` folder of ``store`` holding ``REPORT.txt``."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    folder, n = store / f"{QUARANTINE}{stamp}", 1
    while folder.exists():
        n += 1
        folder = store / f"{QUARANTINE}{stamp}-{n}"
    folder.mkdir()
    (folder / "REPORT.txt").write_text(report_text + "\n")
    return folder


def cut_torn_tail(store: Path, torn: BadBytes, report_text: str) -> Path:
    """Cut a torn tail off its segment, keeping a copy of the bytes in a new quarantine folder; the folder."""
    segment = store / WAL / segment_name(torn.segment)
    with open(segment, "r+b") as handle:
        handle.seek(torn.offset)
        tail = handle.read()
        folder = new_quarantine(store, report_text)
        (folder / WAL).mkdir()
        (folder / WAL / f"{segment_name(torn.segment)}.from-byte-{torn.offset}").write_bytes(tail)
        handle.truncate(torn.offset)
        handle.flush()
        os.fsync(handle.fileno())
    return folder


def repair_store(store: str | Path, accept_loss: bool = False) -> RepairResult:
    """Repair ``store`` as described above; without ``accept_loss`` a damaged store is only reported.

    ``StoreError`` if a process holds the store, or if the repaired store still fails its check.
    """
    store = Path(store)
    lock = StoreLock.acquire(store)
    try:
        report = inspect_store(store)
        if report.verdict is Verdict.OK or (report.verdict is Verdict.DAMAGED and not accept_loss):
            return RepairResult(report, False, None)
        folder = new_quarantine(store, report.describe())
        if not report.current_ok:
            _fix_checkpoint(store, report, folder)
        if report.episodic_problem and (store / EPISODIC).exists():  # the episodic memory starts anew
            _move(store / EPISODIC, folder, EPISODIC)
        _rebuild_log(store, report, folder)
        after = inspect_store(store)
        if after.verdict is not Verdict.OK:
            raise StoreError(f"the repair of {store} left it {after.verdict.value} (the removed files are in "
                             f"{folder}):\n{after.describe()}")
        return RepairResult(report, True, folder)
    finally:
        lock.release()


def _move(source: Path, folder: Path, relative: str) -> None:
    target = folder / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(source), str(target))


def _fix_checkpoint(store: Path, report: StoreReport, folder: Path) -> None:
    """Keep only the checkpoint the report fell back to, and point ``CURRENT`` at it (or remove it)."""
    for name in list_checkpoints(store):
        if name != report.base.name:
            _move(store / name, folder, name)
    if report.base.name is not None:
        atomic_write_text(store / CURRENT, report.base.name + "\n")
    elif read_current(store) is not None:
        _move(store / CURRENT, folder, CURRENT)
    fsync_dir(store)


def _rebuild_log(store: Path, report: StoreReport, folder: Path) -> None:
    """One new segment: the intact records after the base, a loss marker for each loss; old segments out."""
    wal = store / WAL
    wal.mkdir(exist_ok=True)
    old = segment_numbers(wal)
    name = segment_name(max(old, default=0) + 1)
    staging = wal / f".repair-{name}"
    losses = sorted(report.losses, key=lambda loss: loss.first_seq)
    last = report.base.seq
    with open(staging, "wb") as out:
        for ref, frames in read_records(report):
            while losses and losses[0].first_seq < ref.first_seq:
                loss = losses.pop(0)
                out.write(encode_loss(loss.first_seq, loss.last_seq))
            out.write(encode_loss(ref.first_seq, ref.seq) if ref.loss else encode_record(ref.seq, frames))
            last = ref.seq
        for loss in losses:
            out.write(encode_loss(loss.first_seq, loss.last_seq))
            last = loss.last_seq
        out.flush()
        os.fsync(out.fileno())
    for number in old:
        _move(wal / segment_name(number), folder, f"{WAL}/{segment_name(number)}")
    if (wal / ACKED).exists():
        (folder / WAL).mkdir(parents=True, exist_ok=True)
        shutil.copy2(wal / ACKED, folder / WAL / ACKED)
    os.replace(staging, wal / name)
    acked_staging = wal / f".{ACKED}.tmp"
    with open(acked_staging, "wb") as out:
        out.write(encode_acked(last))
        out.flush()
        os.fsync(out.fileno())
    os.replace(acked_staging, wal / ACKED)
    fsync_dir(wal)
