"""Is a store intact? Its checkpoint and write-ahead log, checked against each other and against the
acknowledgement watermark: the verdict of ``mem3d store check`` and the first step of every open.

Three verdicts (``docs/storage.md``):

- **ok**: the checkpoint ``CURRENT`` names loads, and the log holds every record after it, up to the
  watermark ``wal/ACKED``, with no damaged byte anywhere.
- **torn tail**: ok, except for an incomplete or damaged record at the very end of the newest
  segment, after the last acknowledged record (a crash in the middle of an append). A writer cuts it
  (with a warning and a copy in ``quarantine-<time>/``); a reader ignores it.
- **damaged**: anything else. Each problem is named (file, byte offsets), and each run of lost
  acknowledged records (``Loss``) with the obs_ids around it. Nothing opens the store for writing
  until ``mem3d store repair --accept-loss`` (``mem3d.io.repair``) has made the loss explicit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from mem3d.errors import StoreError
from mem3d.io.checkpoint import PREFIX, list_checkpoints, load_map_with_attrs, read_current
from mem3d.io.episodic_store import episodic_problem
from mem3d.io.wal_format import ParsedRecord, decode_acked, next_record, parse_record
from mem3d.protocol.wire import ProtocolError, parse_header
from mem3d.voxel_map import VoxelMap

log = logging.getLogger("mem3d.store")
WAL = "wal"
SEGMENT_SUFFIX = ".wal"
ACKED = "ACKED"


class Verdict(str, Enum):
    OK = "ok"
    TORN_TAIL = "torn tail"
    DAMAGED = "damaged"


def segment_name(number: int) -> str:
    return f"{number:08d}{SEGMENT_SUFFIX}"


def segment_numbers(wal: Path) -> list[int]:
    """Numbers of the segment files in a log directory, ascending."""
    if not wal.is_dir():
        return []
    return sorted(int(p.stem) for p in wal.glob(f"*{SEGMENT_SUFFIX}") if p.stem.isdigit())


@dataclass(frozen=True)
class RecordRef:
    """Where an intact record is, and what it is."""

    segment: int
    offset: int
    end: int
    seq: int
    first_seq: int
    """``seq`` for an ingest; the first lost sequence number for a loss marker."""
    loss: bool
    source: str | None = None
    obs_id: int | None = None

    def describe(self) -> str:
        if self.loss:
            return f"seq {self.seq} (the end of a loss accepted by a repair)"
        return f"seq {self.seq} (obs_id {self.obs_id} of {self.source!r})"


@dataclass(frozen=True)
class BadBytes:
    """Bytes of a segment that hold no intact record."""

    segment: int
    offset: int
    length: int
    incomplete: bool
    """They are the start of a record cut short (``ParsedRecord.incomplete``)."""
    seq_hint: int | None
    at_end: bool
    """Nothing intact follows them in their segment."""

    def describe(self) -> str:
        what = "an incomplete record" if self.incomplete else "damaged bytes"
        hint = f" (its header says seq {self.seq_hint})" if self.seq_hint is not None else ""
        until = "the end of the segment" if self.at_end else "the next intact record"
        return (f"{WAL}/{segment_name(self.segment)}: {what}{hint}, {self.length} bytes from byte {self.offset} "
                f"to {until}")


@dataclass(frozen=True)
class Loss:
    """A run of acknowledged records that are not in the store."""

    first_seq: int
    last_seq: int
    cause: str
    before: RecordRef | None
    """The intact record just before the run (None: it starts right after the checkpoint)."""
    after: RecordRef | None
    """The intact record just after it (None: the run ends the log)."""

    @property
    def count(self) -> int:
        return self.last_seq - self.first_seq + 1

    def describe(self) -> str:
        seqs = f"seq {self.first_seq}" if self.count == 1 else f"seqs {self.first_seq}-{self.last_seq}"
        around = []
        if self.before is not None and not self.before.loss:
            around.append(f"after obs_id {self.before.obs_id} of {self.before.source!r}")
        if self.after is not None and not self.after.loss:
            around.append(f"before obs_id {self.after.obs_id} of {self.after.source!r}")
        obs = f" (the obs_ids {' and '.join(around)})" if around else ""
        return f"{self.count} acknowledged record(s) lost, {seqs}{obs}: {self.cause}"


@dataclass
class Base:
    """The checkpoint a replay starts from (``name`` None: an empty map at seq 0)."""

    name: str | None
    seq: int
    sources: dict[str, int]
    voxel_map: VoxelMap | None


@dataclass
class StoreReport:
    """Everything ``inspect_store`` found."""

    store: Path
    base: Base
    current_ok: bool
    """``CURRENT`` names the base (False: the base is a fallback, or none, after checkpoint damage)."""
    records: list[RecordRef]
    """The intact records, in log order (those up to ``base.seq`` included)."""
    acked: int | None
    """The watermark, None if ``wal/ACKED`` is missing or damaged."""
    problems: list[str] = field(default_factory=list)
    losses: list[Loss] = field(default_factory=list)
    torn: BadBytes | None = None
    warnings: list[str] = field(default_factory=list)
    episodic_problem: str | None = None
    """What is wrong with the episodic part (``mem3d.io.episodic_store``); a repair sets it aside."""

    @property
    def verdict(self) -> Verdict:
        if self.problems or self.losses:
            return Verdict.DAMAGED
        return Verdict.TORN_TAIL if self.torn is not None else Verdict.OK

    @property
    def lost_seqs(self) -> int:
        return sum(loss.count for loss in self.losses)

    @property
    def last_seq(self) -> int:
        """The newest sequence number the store holds (checkpoint or log)."""
        return max([self.base.seq] + [r.seq for r in self.records])

    def replayed(self) -> list[RecordRef]:
        """The records a replay applies: those after the base."""
        return [r for r in self.records if r.seq > self.base.seq]

    def describe(self) -> str:
        """The verdict and its reasons, one line each."""
        lines = [f"store {self.store}: {self.verdict.value}"]
        base = self.base.name or "no checkpoint (an empty map)"
        lines.append(f"  checkpoint: {base}, up to seq {self.base.seq}")
        replayed = self.replayed()
        span = f"seqs {replayed[0].first_seq}-{replayed[-1].seq}" if replayed else "nothing"
        lines.append(f"  log after it: {len(replayed)} intact record(s), {span}; acknowledged up to "
                     f"{self.acked if self.acked is not None else 'unknown'}")
        lines += [f"  damaged: {problem}" for problem in self.problems]
        lines += [f"  lost: {loss.describe()}" for loss in self.losses]
        if self.torn is not None:
            lines.append(f"  torn tail (never acknowledged, cut on the next open for writing): {self.torn.describe()}")
        lines += [f"  warning: {warning}" for warning in self.warnings]
        if self.verdict is Verdict.DAMAGED:
            lines.append(f"  {self.lost_seqs} acknowledged record(s) are lost; `mem3d store repair {self.store} "
                         "--accept-loss` keeps everything else (docs/storage.md)")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"store": str(self.store), "verdict": self.verdict.value, "checkpoint": self.base.name,
                "checkpoint_seq": self.base.seq, "acked": self.acked, "last_seq": self.last_seq,
                "replayed": len(self.replayed()), "problems": self.problems,
                "lost": [{"first_seq": loss.first_seq, "last_seq": loss.last_seq, "cause": loss.cause,
                          "after": _obs(loss.before), "before": _obs(loss.after)} for loss in self.losses],
                "lost_records": self.lost_seqs,
                "torn_tail": None if self.torn is None else self.torn.describe(), "warnings": self.warnings}


def _obs(ref: RecordRef | None) -> dict | None:
    return None if ref is None or ref.loss else {"seq": ref.seq, "source": ref.source, "obs_id": ref.obs_id}


def inspect_store(store: str | Path) -> StoreReport:
    """Check a store without changing it; ``StoreError`` only if ``store`` is not a directory.

    Loads (and so verifies) the checkpoint ``CURRENT`` names, or, if that fails, the newest one that
    loads (to say what is lost with it); reads every segment of the log and the watermark.
    """
    store = Path(store)
    if not store.is_dir():
        raise StoreError(f"{store} is not a mem3d map store (no such directory)")
    problems: list[str] = []
    base, current_ok = _base(store, problems)
    wal = store / WAL
    acked, warnings = _read_acked(wal)
    events = _scan_log(wal)
    report = StoreReport(store, base, current_ok, [], acked, problems, warnings=warnings)
    _analyse(report, events, newest=max(segment_numbers(wal), default=None))
    if base.voxel_map is not None:
        initial = f"{PREFIX}{0:06d}"  # the empty checkpoint a new store starts with: no episodic state
        report.episodic_problem = episodic_problem(store, base.name, initial, base.voxel_map.voxel_size)
        if report.episodic_problem:
            report.problems.append(report.episodic_problem)
    return report


def _base(store: Path, problems: list[str]) -> tuple[Base, bool]:
    name, checkpoints = read_current(store), list_checkpoints(store)
    if name is None:
        if not checkpoints:
            return Base(None, 0, {}, None), True  # a new store, or one written before checkpoints existed
        problems.append(f"CURRENT is missing, but the store has checkpoints {checkpoints}")
        return _fallback(store, checkpoints), False
    try:
        return _load(store, name), True
    except StoreError as error:
        problems.append(f"CURRENT names {name!r}, which is missing or damaged: {error}")
        return _fallback(store, [c for c in checkpoints if c != name]), False


def _load(store: Path, name: str) -> Base:
    if name not in list_checkpoints(store):
        raise StoreError(f"there is no checkpoint {name!r}")
    voxel_map, extra = load_map_with_attrs(store, checkpoint=name)
    return Base(name, int(extra.get("wal_seq", 0)), dict(extra.get("sources", {})), voxel_map)


def _fallback(store: Path, candidates: list[str]) -> Base:
    """The newest checkpoint that loads, else an empty map."""
    for name in reversed(candidates):
        try:
            return _load(store, name)
        except StoreError:
            continue
    return Base(None, 0, {}, None)


def _read_acked(wal: Path) -> tuple[int | None, list[str]]:
    path = wal / ACKED
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if segment_numbers(wal):
            return None, [f"{WAL}/{ACKED} is missing: the end of the log cannot be checked against the "
                          "acknowledged records (a store written before mem3d kept it says so too)"]
        return None, []
    acked = decode_acked(raw)
    if acked is None:
        return None, [f"{WAL}/{ACKED} is damaged: the end of the log cannot be checked against the "
                      "acknowledged records"]
    return acked, []


def _scan_log(wal: Path) -> list[RecordRef | BadBytes]:
    """The intact records and the damaged byte ranges of every segment, in log order."""
    events: list[RecordRef | BadBytes] = []
    for number in segment_numbers(wal):
        try:
            data = (wal / segment_name(number)).read_bytes()
        except FileNotFoundError:  # deleted since it was listed (a live writer's checkpoint)
            raise StoreError(f"{WAL}/{segment_name(number)} vanished while it was read") from None
        offset = 0
        while offset < len(data):
            parsed: ParsedRecord = parse_record(data, offset)
            record = parsed.record
            if record is None:
                resume = next_record(data, offset + 1)
                end = len(data) if resume is None else resume
                events.append(BadBytes(number, offset, end - offset, parsed.incomplete and resume is None,
                                       parsed.seq_hint, at_end=resume is None))
                offset = end
                continue
            source = obs_id = None
            if not record.loss:
                try:
                    header = parse_header(record.frames[0])
                    source, obs_id = header.get("source"), header.get("obs_id")
                except ProtocolError:
                    pass
            events.append(RecordRef(number, offset, record.end, record.seq, record.first_seq, record.loss,
                                    source, obs_id))
            offset = record.end
    return events


def _analyse(report: StoreReport, events: list[RecordRef | BadBytes], newest: int | None) -> None:
    """Fill in the records, problems, losses and torn tail of ``report`` from the scanned log
    (``newest``: the newest segment's number)."""
    floor = report.base.seq
    expected: int | None = None
    before: RecordRef | None = None
    pending: list[BadBytes] = []
    start_cause = (None if report.current_ok else
                   "they were in the checkpoint CURRENT names, which is missing or damaged")
    for event in events:
        if isinstance(event, BadBytes):
            pending.append(event)
            continue
        if expected is not None and event.first_seq < expected:
            report.problems.append(f"{WAL}/{segment_name(event.segment)}: record seq {event.seq} at byte "
                                   f"{event.offset} comes after seq {expected - 1} (out of order)")
            continue
        low = max(floor + 1, expected if expected is not None else floor + 1)
        if event.first_seq > low:
            report.losses.append(Loss(low, event.first_seq - 1,
                                      _cause(pending, before, event, start_cause if expected is None else None),
                                      before, event))
        report.problems += [bad.describe() for bad in pending]
        pending = []
        expected, before = event.seq + 1, event
        report.records.append(event)
    high = max(report.acked or 0, floor)
    low = max(floor + 1, expected if expected is not None else floor + 1)
    tail = pending[0] if len(pending) == 1 else None
    if (tail is not None and tail.at_end and tail.segment == newest and low > high
            and (tail.incomplete or report.acked is not None)):  # without a watermark, only a cut record
        report.torn = tail
    else:
        report.problems += [bad.describe() for bad in pending]
    if low <= high:
        cause = _cause(pending, before, None, start_cause if expected is None else None)
        report.losses.append(Loss(low, high, cause, before, None))


def _cause(bad: list[BadBytes], before: RecordRef | None, after: RecordRef | None, start: str | None) -> str:
    """Why a run of records is missing, as precisely as the log says."""
    if bad:
        return "they were in " + "; ".join(b.describe() for b in bad)
    if start is not None:
        return start
    if after is not None and before is not None and after.segment - before.segment > 1:
        gone = [segment_name(n) for n in range(before.segment + 1, after.segment)]
        return f"segment(s) {', '.join(gone)} of the log are missing"
    if after is None:
        return (f"the end of the log is missing (a deleted or cut segment): {WAL}/{ACKED} says they were "
                "acknowledged")
    return "they are missing from the log"


def read_records(report: StoreReport) -> Iterator[tuple[RecordRef, list[bytes]]]:
    """The records a replay applies (``report.replayed()``) with their frames (none for a loss
    marker), read again from the segments."""
    wal = report.store / WAL
    data, loaded = b"", None
    for ref in report.replayed():
        if ref.segment != loaded:
            try:
                data, loaded = (wal / segment_name(ref.segment)).read_bytes(), ref.segment
            except FileNotFoundError:
                raise StoreError(f"{WAL}/{segment_name(ref.segment)} vanished while it was read") from None
        record = parse_record(data, ref.offset).record
        if record is None or record.seq != ref.seq:
            raise StoreError(f"{WAL}/{segment_name(ref.segment)} changed while it was read (at byte {ref.offset})")
        yield ref, record.frames
