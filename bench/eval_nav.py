"""``mem3d eval nav``: multi-goal navigation from memory (GOAT-style) on generated apartments.

Each episode is one apartment (seed ``first_seed + k``) and ``goals_per_episode`` goals, each a category
with a single instance there, drawn with a seeded generator. Before one goal (``moved_index``) its
object, if the agent has seen it already, is moved to furniture in another room: a "moved since last
seen" goal. The agent starts at the episode's start pose, looks around once, then pursues the goals
in turn with honest motion (``MOVE_TO`` segments and turns, checked by the simulator's geometry);
nothing is teleported and the path length is what the agent travelled.

ObjectNav rule (scoring only, from the simulator's truth): a subtask succeeds when the agent stops
within 1.0 m (floor plane) of the goal instance's box and the instance covers at least 10 pixels of
some view from the stop turning in place (8 headings, level and 30 degrees down). SPL (Anderson et
al. 2018) uses the geodesic shortest path on the simulator's nav grid from the subtask's start to the
nearest navigable point within 1.0 m of the instance. Categories: "seen" (the instance
covered at least ``VIEW_MIN_PIXELS`` of a view before the subtask), "unseen", "moved". The no-memory
baseline runs the same episodes with the memory (and the planner's grid copy) wiped at the start of
every subtask; its subtasks keep the memory run's categories (and the same object is moved), so
"seen" compares the same subtasks.
"""

from __future__ import annotations

import functools
import sys
import time
from dataclasses import dataclass

import numpy as np

from bench.nav_world import WorldConfig, episodes, label_encoder, make_world, shortest_path_m, spl, succeeded

GOAL_KINDS = ("furniture", "small")


@dataclass(frozen=True)
class NavEvalConfig:
    n_episodes: int = 30
    goals_per_episode: int = 5
    first_seed: int = 100
    moved_index: int = 3
    """The subtask whose object is moved before it (if it was seen); -1 = none."""
    perception: str = "label"
    """"label" or "degraded" (perception.degradation.DEGRADED)."""
    no_memory_baseline: bool = True
    width: int = 160
    height: int = 120
    samples: int = 4000
    max_actions_per_goal: int = 300
    workers: int = 0
    """Episodes run at once, each in its own process (0 = one per CPU core); the results do not
    depend on it."""


def pick_goals(source, n: int, rng: np.random.Generator) -> list:
    """``n`` objects whose category has one instance in the apartment (setup from the truth)."""
    objects = [o for o in source.truth.objects() if source.scene.get(o.instance_id).kind.value in GOAL_KINDS]
    labels = [o.label for o in objects]
    unique = [o for o in objects if labels.count(o.label) == 1]
    order = rng.permutation(len(unique))
    return [unique[k] for k in order[:n]]


def move_elsewhere(source, instance_id: int, seed: int) -> bool:
    """Move a small object onto furniture in another room (setup); False when it cannot be moved."""
    from sim.scene import ObjectKind

    obj = source.scene.get(instance_id)
    if obj.kind is not ObjectKind.SMALL:
        return False
    rng = np.random.default_rng(seed)
    supports = [o for o in source.scene.of_kind(ObjectKind.FURNITURE)
                if o.top_z() is not None and o.room and o.room != obj.room]
    for k in rng.permutation(len(supports)):
        try:
            source.dynamics.move_object(instance_id, support_id=supports[k].instance_id, seed=seed)
            return True
        except Exception:  # no free spot on that one: the next
            continue
    return False


def run_episode(seed: int, config: NavEvalConfig, encoder, wipe: bool,
                categories: list[str] | None = None) -> list[dict]:
    """One episode's subtask rows; ``categories`` (the memory run's, for the baseline) fixes each
    subtask's category and so which object is moved, making both runs the same episode."""
    world = make_world(seed, WorldConfig(config.width, config.height, config.samples, config.perception,
                                         config.max_actions_per_goal), encoder)
    source, navigator = world.source, world.navigator
    goals = pick_goals(source, config.goals_per_episode, np.random.default_rng(seed))
    navigator.run([], look_first=True)
    results = []
    for index, goal in enumerate(goals):
        if categories is not None:
            category = categories[index]
            if category == "moved" and not move_elsewhere(source, goal.instance_id, seed):
                raise RuntimeError(f"apartment {seed}: the baseline could not move what the memory run moved")
        else:
            category = "seen" if goal.instance_id in world.seen else "unseen"
            if index == config.moved_index and category == "seen" and move_elsewhere(source, goal.instance_id, seed):
                category = "moved"
        if wipe:
            world.memory.wipe()
            navigator.reset_memory_view()
            navigator.start(navigator.obs)
            navigator.run([], look_first=True)  # what it sees from where it stands, nothing more
        start = navigator.obs.T_world_camera[:2, 3].copy()
        shortest = shortest_path_m(source, start, goal.label)
        report = navigator.pursue(goal.label, index)
        ok = succeeded(source, goal.label, report.end_xy)
        results.append({"episode": seed, "index": index, "goal": goal.label, "category": category,
                        "success": ok, "verified": report.reached, "stop_reason": report.stop_reason,
                        "shortest_m": shortest, "travelled_m": report.travelled_m,
                        "spl": spl(ok, shortest, report.travelled_m), "actions": report.actions,
                        "exploring_actions": report.exploring_actions, "wrong_places": report.wrong_places})
    source.close()
    return results


def _mean(values) -> float | None:
    values = list(values)
    return round(float(np.mean(values)), 4) if values else None


def summarize(rows: list[dict], n_goals: int) -> dict:
    by_episode: dict[int, list[dict]] = {}
    for row in rows:
        by_episode.setdefault(row["episode"], []).append(row)
    out = {"success_rate": _mean(r["success"] for r in rows), "spl": _mean(r["spl"] for r in rows),
           "subtask_sr_by_index": [_mean(r["success"] for r in rows if r["index"] == i) for i in range(n_goals)],
           "subtask_spl_by_index": [_mean(r["spl"] for r in rows if r["index"] == i) for i in range(n_goals)],
           "multi_goal_success_rate": _mean(all(r["success"] for r in ep) for ep in by_episode.values()),
           "progress": _mean(np.mean([r["success"] for r in ep]) for ep in by_episode.values())}
    for category in ("seen", "unseen", "moved"):
        chosen = [r for r in rows if r["category"] == category]
        out[f"{category}_n"] = len(chosen)
        out[f"{category}_sr"] = _mean(r["success"] for r in chosen)
        out[f"{category}_spl"] = _mean(r["spl"] for r in chosen)
    return out


def run_pair(seed: int, config: NavEvalConfig) -> tuple[list[dict], list[dict]]:
    """Apartment ``seed``: the memory run's subtask rows and, if configured, the no-memory baseline's
    on the same episode (empty otherwise)."""
    encoder = label_encoder()
    rows = run_episode(seed, config, encoder, wipe=False)
    baseline = run_episode(seed, config, encoder, wipe=True, categories=[r["category"] for r in rows]) \
        if config.no_memory_baseline else []
    return rows, baseline


def run(config: NavEvalConfig, show_progress: bool = True) -> dict:
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if show_progress else (lambda text: None)
    started = time.monotonic()
    seeds = [config.first_seed + k for k in range(config.n_episodes)]
    finished: dict[int, tuple[list[dict], list[dict]]] = {}
    for seed, (last, base) in episodes(functools.partial(run_pair, config=config), seeds, config.workers):
        finished[seed] = (last, base)
        goals = ", ".join(f"{r['goal']} ({r['category']}) spl {r['spl']:.2f}" for r in last)
        say(f"episode {len(finished)}/{len(seeds)} (apartment {seed}): {sum(r['success'] for r in last)}/{len(last)} "
            f"goals: {goals}")
    rows = [row for seed in seeds for row in finished[seed][0]]
    baseline = [row for seed in seeds for row in finished[seed][1]]
    result = {"perception": "label-minilm" + (" + degraded" if config.perception == "degraded" else ""),
              "n_episodes": len(seeds), "goals_per_episode": config.goals_per_episode, "n_subtasks": len(rows),
              **summarize(rows, config.goals_per_episode)}
    if config.no_memory_baseline:
        base = summarize(baseline, config.goals_per_episode)
        result.update({"no_memory_spl": base["spl"], "no_memory_success_rate": base["success_rate"],
                       "no_memory_subtask_spl_by_index": base["subtask_spl_by_index"],
                       "no_memory_seen_spl": base["seen_spl"], "no_memory_seen_sr": base["seen_sr"]})
        if result["seen_spl"] is not None and base["seen_spl"] is not None:
            result["memory_gain_seen_spl"] = round(result["seen_spl"] - base["seen_spl"], 4)
    result["wall_time_s"] = round(time.monotonic() - started, 1)
    result["subtasks"] = rows
    return result
