"""``mem3d info STORE``: what a store holds, readable (or ``--json``); read-only, so a live store too.

Size on disk, voxels and the map's memory, the extent of what was mapped, the frames acknowledged
and their sources, the time span the voxels were seen in, the feature model, the voxel budget in
use, and the episodic memory's places, keyframes and instances.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mem3d.apps.offline import open_view


@dataclass(frozen=True)
class StoreInfo:
    """A store at a glance (world frame, metres; stamps in seconds)."""

    store: str
    disk_bytes: int
    in_use_by_pid: int | None
    """The process writing the store now (None: no writer)."""
    checkpoint: str | None
    frames: int
    """Acknowledged ingests (the newest log sequence number)."""
    replayed: int
    """Of those, frames in the log after the checkpoint (applied on opening)."""
    sources: dict[str, int]
    """Source -> newest obs_id it delivered."""
    n_voxels: int
    map_bytes: int
    voxel_size: float
    extent_min: tuple[float, float, float] | None
    extent_max: tuple[float, float, float] | None
    first_seen: float | None
    last_seen: float | None
    feature_model: str
    feature_dim: int
    max_voxels: int | None
    budget_used: float | None
    """n_voxels / max_voxels (None: no budget)."""
    places: int | None
    keyframes: int | None
    instances: int | None
    """Counts of the episodic memory (``docs/episodic.md``)."""


def disk_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def newest_obs_ids(view) -> dict[str, int]:
    """Source -> newest obs_id, from the checkpoint and the log records after it."""
    sources = dict(view.report.base.sources)
    for ref in view.report.replayed():
        if not ref.loss and ref.source is not None:
            sources[ref.source] = max(sources.get(ref.source, -1), int(ref.obs_id))
    return sources


def store_info(store: str | Path) -> StoreInfo:
    """Read ``store`` (read-only, no lock) and sum it up."""
    from mem3d.io.lock import lock_holder

    view = open_view(store)
    voxel_map, config = view.voxel_map, view.voxel_map.config
    columns = voxel_map.contents().columns
    n = len(voxel_map)
    positions = columns["position"]

    def corner(values: np.ndarray) -> tuple[float, float, float]:
        return tuple(round(float(v), 3) for v in values)

    return StoreInfo(
        str(store), disk_bytes(Path(store)), lock_holder(store), view.checkpoint, view.seq, view.replayed,
        newest_obs_ids(view), n, voxel_map.nbytes(), config.voxel_size,
        corner(positions.min(0)) if n else None, corner(positions.max(0)) if n else None,
        round(float(columns["first_seen"].min()), 3) if n else None,
        round(float(columns["last_seen"].max()), 3) if n else None,
        config.feature_model, config.feature_dim, config.max_voxels,
        round(n / config.max_voxels, 4) if config.max_voxels else None,
        len(view.episodic.places), len(view.episodic.keyframes), len(view.episodic.instances))


def _size(count: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def describe(info: StoreInfo) -> str:
    """The readable form: one "name  value" line per fact."""
    extent = "-"
    if info.extent_min is not None:
        size = np.subtract(info.extent_max, info.extent_min)
        extent = ("x {:.2f} .. {:.2f}, y {:.2f} .. {:.2f}, z {:.2f} .. {:.2f} m".format(
            *(v for pair in zip(info.extent_min, info.extent_max) for v in pair))
            + f"  ({size[0]:.1f} × {size[1]:.1f} × {size[2]:.1f} m)")
    span = "-" if info.first_seen is None else (
        f"{info.first_seen:.1f} s .. {info.last_seen:.1f} s ({info.last_seen - info.first_seen:.1f} s)")
    budget = ("unbounded" if info.max_voxels is None
              else f"{info.n_voxels:,} of {info.max_voxels:,} ({info.budget_used:.0%})")
    writer = ("no (read it freely)" if info.in_use_by_pid is None
              else f"yes, by pid {info.in_use_by_pid} (this is a read-only view)")
    sources = ", ".join(f"{name} (obs {obs})" for name, obs in info.sources.items()) or "-"

    def count(value: int | None) -> str:
        return "- (no episodic memory in this store)" if value is None else f"{value:,}"

    lines = [("store", info.store), ("size on disk", _size(info.disk_bytes)), ("written by a service", writer),
             ("checkpoint", info.checkpoint or "none yet"),
             ("frames", f"{info.frames:,} acknowledged ({info.replayed:,} in the log after the checkpoint)"),
             ("sources", sources), ("voxels", f"{info.n_voxels:,} of {info.voxel_size * 100:g} cm, "
                                              f"{_size(info.map_bytes)} in memory"),
             ("extent", extent), ("time span", span),
             ("feature model", f"{info.feature_model or '(none named)'}, {info.feature_dim}-d"),
             ("voxel budget", budget), ("places", count(info.places)), ("keyframes", count(info.keyframes)),
             ("instances", count(info.instances))]
    width = max(len(name) for name, _ in lines)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="store directory (written by `mem3d serve` or `mem3d demo`)")
    parser.add_argument("--json", action="store_true", help="print the facts as JSON")


def run(args: argparse.Namespace) -> int:
    info = store_info(args.store)
    print(json.dumps(asdict(info)) if args.json else describe(info))
    return 0
