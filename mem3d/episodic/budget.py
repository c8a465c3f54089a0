"""The memory budget: which keyframes and voxels to drop when the memory grows beyond its caps.

Policy, in this order:
1. **Redundant keyframes first.** Every instance keeps at least one keyframe that shows it: a small
   set of keyframes that together show every instance (chosen greedily, newest first) is never
   dropped, and an instance whose latest keyframe goes points to the newest kept one that shows it.
   Among the others, the oldest keyframe of the place that holds the most keyframes goes first: its
   view is the one the memory can best spare. (A cap below the size of that set is exceeded by
   as little as it takes: evidence wins.)
2. **Then stale voxels far from every place.** Each voxel's score is its staleness (seconds since it
   was last observed) times (1 + its horizontal distance to the nearest place / the place radius):
   what the robot has not looked at for long, away from where it goes, is the least likely to be
   asked for. Voxels of instances come last, after every other voxel; an instance whose voxels are
   all dropped is ``evicted`` (forgotten, not gone) and keeps its record, its events and its latest
   keyframe, so no instance ever loses its last evidence.
Voxel eviction runs in batches down to ``low_water`` x the cap, so the O(n) selection is paid once
per many frames.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def evidence_cover(shows: dict[int, set[int]]) -> set[int]:
    """Keyframes that together show every instance: ``shows`` is keyframe id -> the instances it shows;
    greedily the keyframe showing most instances still unshown, the newest on ties."""
    unshown = set().union(*shows.values()) if shows else set()
    chosen: set[int] = set()
    while unshown:
        best = max(shows, key=lambda k: (len(shows[k] & unshown), k))
        chosen.add(best)
        unshown -= shows[best]
    return chosen


def keyframes_to_evict(places: dict[int, list[int]], protected: set[int], n_over: int) -> list[int]:
    """``n_over`` keyframe ids to drop (fewer if only protected ones are left).

    ``places``: place -> its keyframe ids, oldest first; ``protected``: the ones to keep (``evidence_cover``)."""
    pools = {p: [k for k in ids if k not in protected] for p, ids in places.items()}
    sizes = {p: len(ids) for p, ids in places.items()}
    chosen: list[int] = []
    while len(chosen) < n_over:
        open_places = [p for p, pool in pools.items() if pool]
        if not open_places:
            break
        place = max(open_places, key=lambda p: (sizes[p], -p))
        chosen.append(pools[place].pop(0))
        sizes[place] -= 1
    return chosen


def voxels_to_evict(last_seen: np.ndarray, place_distance: np.ndarray, protected: np.ndarray, now: float,
                    place_radius: float, budget: int, low_water: float) -> np.ndarray:
    """Indices of the voxels to drop so that ``low_water * budget`` remain (empty within the budget).

    ``place_distance``: (V,) metres to the nearest place; ``protected``: (V,) bool, instance voxels."""
    n = last_seen.shape[0]
    if n <= budget:
        return np.empty(0, dtype=np.int64)
    n_evict = n - int(budget * low_water)
    score = np.maximum(now - last_seen, 0.0) * (1.0 + place_distance / place_radius)
    score = np.where(protected, -1.0 / (1.0 + score), score + 1.0)  # protected ones rank below all others
    return np.argpartition(-score, n_evict - 1)[:n_evict].astype(np.int64)


def all_keys(arrays: Iterable[np.ndarray]) -> np.ndarray:
    parts = [a for a in arrays if a.size]
    return np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)
