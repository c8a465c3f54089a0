"""Counts of what the bridge could not use, logged once per period with the fix (no silent loss)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class BridgeCounts:
    received: Counter = field(default_factory=Counter)
    """Topic -> messages received."""
    forwarded: int = 0
    """Observations sent to perception."""
    problems: Counter = field(default_factory=Counter)
    """Problem text (with its fix) -> times since the start."""
    _reported: Counter = field(default_factory=Counter)

    def problem(self, text: str, times: int = 1) -> None:
        self.problems[text] += times

    def new_problems(self) -> list[str]:
        """One line per problem that happened since the last call, with its count then and in all."""
        lines = []
        for text, total in self.problems.items():
            new = total - self._reported[text]
            if new:
                lines.append(f"{new} in the last period ({total} in all): {text}")
                self._reported[text] = total
        return lines
