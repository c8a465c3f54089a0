"""``mem3d bench query``: how long an offline ``mem3d query`` takes, cold, as a user runs it.

Each run is a fresh process (``python -m mem3d.apps.cli query STORE ... --json``): the wall time of
one text end to end, and, from one call with several texts, the time of each further text (embedding
plus search). The command reports its own split (store open, encoder load) in its JSON. Without
``store``, a store is made first with ``mem3d demo --quick --views N`` (label-minilm perception).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

TEXTS = ("sofa", "white mug", "coffee cup", "bed", "chair", "refrigerator", "piano", "tv", "laptop", "book")


@dataclass(frozen=True)
class QueryBenchConfig:
    store: str | None = None
    """A store to query; None = make one with the quick demo."""
    demo_views: int = 40
    """Views per tour of the demo that makes the store."""
    runs: int = 3
    """Cold processes per measurement."""

    def __post_init__(self) -> None:
        from mem3d.errors import InvalidInputError

        if self.runs < 1 or self.demo_views < 1:
            raise InvalidInputError(f"runs and demo_views must be >= 1, got {self.runs} and {self.demo_views}")


def _query(store: str, texts: tuple[str, ...]) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "mem3d.apps.cli", "query", store, *texts, "--json"],
                          capture_output=True, text=True, check=True)
    return time.perf_counter() - started, json.loads(done.stdout)


def run(config: QueryBenchConfig, show_progress: bool = True) -> dict:
    folder = None
    store = config.store
    if store is None:
        folder = tempfile.mkdtemp(prefix="mem3d-query-bench-")
        if show_progress:
            print(f"making a store with the quick demo ({config.demo_views} views per tour)...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "mem3d.apps.cli", "demo", "--quick", "--views",
                        str(config.demo_views), "--out", f"{folder}/demo"], capture_output=True, check=False)
        store = f"{folder}/demo/store"
    cold, split, further, n_voxels = [], [], [], 0
    for _ in range(config.runs):
        seconds, reply = _query(store, TEXTS[:1])
        cold.append(seconds)
        split.append(reply["timing"])
        n_voxels = reply["n_voxels"]
        _, reply = _query(store, TEXTS)
        further.extend(reply["timing"]["queries_s"][1:])
    if show_progress:
        print(f"cold single query: median {statistics.median(cold):.2f} s", file=sys.stderr)
    return {"perception": "label-minilm", "store": store, "n_voxels": n_voxels,
            "cold_single_query_s": {"median": round(statistics.median(cold), 3), "max": round(max(cold), 3)},
            "open_s_median": round(statistics.median(t["open_s"] for t in split), 3),
            "encoder_load_s_median": round(statistics.median(t["encoder_load_s"] for t in split), 3),
            "further_query_s": {"median": round(statistics.median(further), 4), "max": round(max(further), 4),
                                "n": len(further)},
            "made_store": folder is not None and Path(store).is_dir()}
