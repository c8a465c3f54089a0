"""``mem3d eval localize``: dynamic object localization from memory (after DynaMem's benchmark).

Each episode is one apartment (seed ``first_seed + k``). The agent explores it with the frontier
explorer (honest motion, ``explore_actions``); then the scene changes: a share of the small objects
moves to furniture in other rooms and ``n_removed`` small objects are removed; the agent revisits part
of the apartment (``revisit_actions`` of exploration, which now goes for the places seen longest
ago). Then the memory is asked, by name, for every moved and removed object and for ``n_unmoved``
objects that stayed. Only categories with a single instance in the apartment are queried.

Success (scored from the simulator's truth): for an object that exists, the top candidate's centroid
lies within 0.5 m of its box (its new place for a moved one); for a removed one, the memory answers
"not found". The same views also go into a memory with carving off (the static-map baseline), asked
the same questions.
"""

from __future__ import annotations

import functools
import sys
import time
from dataclasses import dataclass, replace

import numpy as np

from bench.nav_world import WorldConfig, episodes, label_encoder, make_world
from planners.frontier import FrontierConfig

NEAR_M = 0.5


@dataclass(frozen=True)
class LocalizeEvalConfig:
    n_episodes: int = 10
    first_seed: int = 200
    explore_actions: int = 250
    revisit_actions: int = 120
    move_fraction: float = 0.3
    n_removed: int = 2
    n_unmoved: int = 6
    perception: str = "label"
    width: int = 160
    height: int = 120
    samples: int = 4000
    workers: int = 0
    """Episodes run at once, each in its own process (0 = one per CPU core); the results do not
    depend on it."""


def box_distance_3d(point, lo, hi) -> float:
    gap = np.maximum(np.maximum(np.asarray(lo) - point, np.asarray(point) - np.asarray(hi)), 0.0)
    return float(np.linalg.norm(gap))


def score(memory, label: str, truth, removed: bool) -> bool:
    result = memory.localize(text=label, top_k=1)
    if removed:
        return not result.found
    if not result.found:
        return False
    return box_distance_3d(np.asarray(result.candidates[0].centroid), truth.bbox_min, truth.bbox_max) <= NEAR_M


def run_episode(seed: int, config: LocalizeEvalConfig, encoder=None) -> list[dict]:
    """Apartment ``seed``'s query rows (``encoder`` None = label-minilm)."""
    from sim.scene import ObjectKind

    encoder = label_encoder() if encoder is None else encoder

    world = make_world(seed, WorldConfig(config.width, config.height, config.samples, config.perception), encoder,
                       static=True)
    source, navigator = world.source, world.navigator
    navigator.frontier.config = replace(FrontierConfig(), stale_after_s=20.0)
    navigator.run([], look_first=True)
    navigator.explore(config.explore_actions)
    objects = source.truth.objects()
    labels = [o.label for o in objects]
    unique = {o.instance_id: o for o in objects if labels.count(o.label) == 1}
    result = source.dynamics.rearrange(config.move_fraction, seed=seed)
    moved = {e.instance_id for e in result.events if e.kind == "moved" and e.instance_id in unique}
    rng = np.random.default_rng(seed)
    small = [i for i in unique if source.scene.get(i).kind is ObjectKind.SMALL and i not in moved]
    removed = {int(i) for i in rng.permutation(small)[:config.n_removed]}
    for instance_id in removed:
        source.dynamics.remove_object(instance_id)
    world.seen.clear()
    navigator.frontier.blacklist.clear()
    navigator.explore(config.revisit_actions, revisit=True)
    now = {o.instance_id: o for o in source.truth.objects()}
    stayed = [i for i in unique if i not in moved and i not in removed]
    queries = [(i, "moved") for i in sorted(moved)] + [(i, "removed") for i in sorted(removed)] + \
        [(int(i), "unmoved") for i in rng.permutation(stayed)[:config.n_unmoved]]
    rows = []
    for instance_id, kind in queries:
        label = unique[instance_id].label
        truth = now.get(instance_id, unique[instance_id])
        rows.append({"episode": seed, "label": label, "kind": kind,
                     "reseen": instance_id in world.seen,
                     "success": score(world.memory, label, truth, kind == "removed"),
                     "static_success": score(world.static, label, truth, kind == "removed")})
    source.close()
    return rows


def _rate(rows, key="success") -> float | None:
    return round(float(np.mean([r[key] for r in rows])), 4) if rows else None


def run(config: LocalizeEvalConfig, show_progress: bool = True) -> dict:
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if show_progress else (lambda text: None)
    started = time.monotonic()
    seeds = [config.first_seed + k for k in range(config.n_episodes)]
    finished: dict[int, list[dict]] = {}
    for seed, episode in episodes(functools.partial(run_episode, config=config), seeds, config.workers):
        finished[seed] = episode
        say(f"episode {len(finished)}/{len(seeds)} (apartment {seed}): {sum(r['success'] for r in episode)}/"
            f"{len(episode)} right, static {sum(r['static_success'] for r in episode)}/{len(episode)}")
    rows = [row for seed in seeds for row in finished[seed]]
    out = {"perception": "label-minilm" + (" + degraded" if config.perception == "degraded" else ""),
           "success_rate": _rate(rows), "static_baseline_success_rate": _rate(rows, "static_success"),
           "n_queries": len(rows), "n_episodes": config.n_episodes}
    for kind in ("moved", "removed", "unmoved"):
        chosen = [r for r in rows if r["kind"] == kind]
        out[f"{kind}_n"] = len(chosen)
        out[f"{kind}_success_rate"] = _rate(chosen)
        out[f"{kind}_static_success_rate"] = _rate(chosen, "static_success")
    out["wall_time_s"] = round(time.monotonic() - started, 1)
    out["queries"] = rows
    return out
