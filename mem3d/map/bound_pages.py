"""A summary of the voxels' search bounds by slot range, so that a search scans a small part of the map.

The codebook search (``mem3d.map.codebook``) keeps voxel v when ``slack[v] >= needed[code[v]]``,
where ``needed`` (one value per codebook code) comes from the query. Two summaries, kept on every
write of ``code`` / ``bound_slack`` (``note``), say where such voxels can be:

- per page of ``PAGE_SLOTS`` slots and per code, the highest slack written there with that code
  (it only rises: a removed or rewritten voxel leaves a bound that stays valid, a little loose);
- per line of ``LINE_SLOTS`` slots, the highest slack of its voxels (whatever their codes), exact:
  recomputed for every line written.

A page holds candidates only for the codes whose page bound reaches ``needed``; a line of it only if
its own bound reaches the least of those codes' ``needed``. ``candidates`` scans only those lines and
returns exactly the slots a scan of every voxel would (ascending). Most voxels' slack lies far under
what a query needs of every code but the few it resembles, so the lines left are those of the
resembled codes' pages and of the rare voxels of high slack (blends).

Size: pages x codes + lines float32: 2.3 MB at 1 M voxels and 2,048 codes.
"""

from __future__ import annotations

import numpy as np

PAGE_SHIFT = 12
PAGE_SLOTS = 1 << PAGE_SHIFT
"""Slots per page (4,096), the unit of the per-code bound."""
LINE_SHIFT = 5
LINE_SLOTS = 1 << LINE_SHIFT
"""Slots per line (32), the unit a search scans or skips."""
NO_VOXEL = np.float32(-np.inf)
_LINE_OFFSETS = np.arange(LINE_SLOTS, dtype=np.int64)


class BoundPages:
    """Per page and code, and per line, the highest ``bound_slack`` of the voxels there (-inf: none)."""

    def __init__(self) -> None:
        self.highest = np.full((0, 0), NO_VOXEL, dtype=np.float32)
        """(pages, codes) float32: the highest slack noted in each page for each code."""
        self.code_highest = np.full(0, NO_VOXEL, dtype=np.float32)
        """(codes,) float32: the highest over all pages, per code."""
        self.line_highest = np.full(0, NO_VOXEL, dtype=np.float32)
        """(lines,) float32: the highest slack in each line."""

    def note(self, slots: np.ndarray, codes: np.ndarray, slack_column: np.ndarray) -> None:
        """Record that the voxels at ``slots`` now hold ``codes`` and the slack in ``slack_column`` (the
        store's whole ``bound_slack`` array, already written)."""
        if slots.size == 0:
            return
        slack = slack_column[slots]
        self._reserve(int(slots.max() >> PAGE_SHIFT) + 1, int(codes.max()) + 1)
        np.maximum.at(self.highest, (slots >> PAGE_SHIFT, codes), slack)
        np.maximum.at(self.code_highest, codes, slack)
        lines = np.sort(slots >> LINE_SHIFT)
        lines = lines[np.concatenate(([True], lines[1:] != lines[:-1]))]
        whole = slack_column.shape[0] >> LINE_SHIFT  # lines that lie wholly inside the column
        inside = lines[: np.searchsorted(lines, whole)]
        self.line_highest[inside] = _row_max(slack_column[: whole << LINE_SHIFT].reshape(whole, LINE_SLOTS)[inside])
        for line in lines[inside.size:].tolist():  # the column's last, partial line (if any)
            self.line_highest[line] = slack_column[line << LINE_SHIFT:].max()

    def _reserve(self, pages: int, codes: int) -> None:
        old_pages, old_codes = self.highest.shape
        if pages <= old_pages and codes <= old_codes:
            return
        new_pages = max(pages, 2 * old_pages if pages > old_pages else old_pages, 4)
        new_codes = max(codes, 2 * old_codes if codes > old_codes else old_codes, 64)
        highest = np.full((new_pages, new_codes), NO_VOXEL, dtype=np.float32)
        highest[:old_pages, :old_codes] = self.highest
        code_highest = np.full(new_codes, NO_VOXEL, dtype=np.float32)
        code_highest[:old_codes] = self.code_highest
        line_highest = np.full(new_pages * (PAGE_SLOTS // LINE_SLOTS), NO_VOXEL, dtype=np.float32)
        line_highest[: self.line_highest.shape[0]] = self.line_highest
        self.highest, self.code_highest, self.line_highest = highest, code_highest, line_highest

    def candidates(self, codes: np.ndarray, slack: np.ndarray, needed: np.ndarray) -> np.ndarray:
        """Slots v in [0, len(codes)) with ``slack[v] >= needed[codes[v]]``, ascending: ``codes`` and
        ``slack`` are the live columns, ``needed`` (C,) the slack each code needs."""
        n = codes.shape[0]
        n_codes = min(needed.shape[0], self.code_highest.shape[0])
        active = np.flatnonzero(self.code_highest[:n_codes] >= needed[:n_codes])
        if n == 0 or active.size == 0:
            return np.empty(0, dtype=np.int64)
        n_pages, n_lines = -(-n // PAGE_SLOTS), -(-n // LINE_SLOTS)
        active_needed = needed[active]
        reached = self.highest[:n_pages, active] >= active_needed
        page_needs = np.where(reached, active_needed, np.inf).min(axis=1)  # inf: no code can match there
        lines = np.flatnonzero(self.line_highest[:n_lines] >= np.repeat(page_needs, PAGE_SLOTS // LINE_SLOTS)[:n_lines])
        if 2 * lines.size > n_lines:  # most of the map: one plain pass is cheaper than gathering
            return np.flatnonzero(slack >= np.take(needed, codes))
        slots = (lines[:, None] * LINE_SLOTS + _LINE_OFFSETS).ravel()
        slots = slots[: np.searchsorted(slots, n)]
        return slots[slack[slots] >= np.take(needed, codes[slots])]

    def nbytes(self) -> int:
        return self.highest.nbytes + self.code_highest.nbytes + self.line_highest.nbytes


def _row_max(rows: np.ndarray) -> np.ndarray:
    """Per row of (L, LINE_SLOTS), its maximum: halving the width each step (twice as fast as ``max(axis=1)``
    on rows this short)."""
    width = rows.shape[1]
    while width > 1:
        width //= 2
        rows = np.maximum(rows[:, :width], rows[:, width:])
    return rows[:, 0]
