"""Wall-clock time per pipeline stage, for benchmarks and node telemetry."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager


class StageTimer:
    """Accumulates seconds per named stage: ``with timer.stage("encode"): ...``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - start

    def milliseconds(self) -> dict[str, float]:
        """Stage -> milliseconds accumulated so far."""
        return {name: 1000.0 * s for name, s in self.seconds.items()}


@contextmanager
def maybe_stage(timer: StageTimer | None, name: str) -> Iterator[None]:
    """``timer.stage(name)`` when a timer is given, else nothing."""
    if timer is None:
        yield
    else:
        with timer.stage(name):
            yield
