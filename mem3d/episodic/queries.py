"""The typed queries of the episodic memory. Each takes ``memory.lock``: it sees the memory exactly as
it was after one recorded frame (``memory.seq``).

Concept queries take a query embedding (D,) of the map's feature space: the instances whose feature
reaches ``threshold`` (default: the memory's) match; the best-scoring ones (within ``TIE_COSINE``)
compete, and the most recently seen of them answers.
"""

from __future__ import annotations

import numpy as np

from mem3d.episodic.instances import Instance
from mem3d.episodic.memory import EpisodicMemory
from mem3d.episodic.results import (
    CHANGE_KINDS,
    NO_KEYFRAME,
    Event,
    EventKind,
    Interval,
    KeyframeRef,
    PlaceInfo,
    Route,
    Sighting,
)
from mem3d.errors import InvalidInputError
from mem3d.query.localization import check_query

TIE_COSINE = 0.03
"""Instances within this cosine of the best match count as equally good answers."""


def best_instance(memory: EpisodicMemory, query: np.ndarray, threshold: float | None = None
                  ) -> tuple[Instance | None, float]:
    """The instance a concept query means, and its score; (None, best score) when none reaches the threshold."""
    threshold = memory.match_threshold if threshold is None else float(threshold)
    if not -1.0 <= threshold <= 1.0:
        raise InvalidInputError(f"threshold must be a cosine similarity in [-1, 1], got {threshold}")
    instances = list(memory.instances.values())
    if not instances:
        return None, -1.0
    unit = check_query(np.asarray(query), instances[0].feature.shape[0])
    scores = np.stack([inst.feature for inst in instances]) @ unit.astype(np.float32)
    best = float(scores.max())
    if best < threshold:
        return None, best
    tied = [i for i in np.flatnonzero(scores >= best - TIE_COSINE)]
    chosen = max(tied, key=lambda i: (instances[i].last_seen, scores[i]))
    return instances[chosen], float(scores[chosen])


def keyframe_ref(memory: EpisodicMemory, keyframe_id: int) -> KeyframeRef | None:
    keyframe = memory.keyframes.get(keyframe_id) if keyframe_id != NO_KEYFRAME else None
    return keyframe.ref() if keyframe is not None else None


def where_last_seen(memory: EpisodicMemory, query: np.ndarray, threshold: float | None = None) -> Sighting | None:
    """Where the queried object was last seen: position, place, stamp and the keyframe that shows it."""
    with memory.lock:
        inst, score = best_instance(memory, query, threshold)
        if inst is None:
            return None
        return inst.sighting(memory.voxel_size, score, keyframe_ref(memory, inst.keyframe))


def history(memory: EpisodicMemory, query: np.ndarray, threshold: float | None = None
            ) -> tuple[int, tuple[Event, ...]]:
    """(instance, its events in order); (-1, ()) when nothing matches."""
    with memory.lock:
        inst, _ = best_instance(memory, query, threshold)
        return (-1, ()) if inst is None else (inst.id, tuple(inst.events))


def when_seen(memory: EpisodicMemory, query: np.ndarray, threshold: float | None = None
              ) -> tuple[int, tuple[Interval, ...]]:
    """(instance, the time intervals in which it was seen, oldest first); (-1, ()) when nothing matches."""
    with memory.lock:
        inst, _ = best_instance(memory, query, threshold)
        if inst is None:
            return -1, ()
        return inst.id, tuple(Interval(start=a, end=b, place=int(p)) for a, b, p in inst.intervals)


def changes_since(memory: EpisodicMemory, stamp: float, place: int | None = None, min_sightings: int = 1
                  ) -> tuple[Event, ...]:
    """The appeared, moved and disappeared events after ``stamp`` (seconds), at ``place`` if given
    (a move counts at both of its places), of instances sighted at least ``min_sightings`` times (a
    persistence rule for noisy perception: a flicker of a confused label or a dropped mask is seen once
    or twice, an object many times; 1 keeps every change)."""
    if min_sightings < 1:
        raise InvalidInputError(f"min_sightings must be at least 1, got {min_sightings}")
    with memory.lock:
        if place is not None:
            memory.places.require(place)
        return tuple(e for e in memory.log if e.kind in CHANGE_KINDS and e.stamp > stamp
                     and (place is None or place in (e.place, e.from_place))
                     and (min_sightings == 1 or memory.instances[e.instance].n_sightings >= min_sightings))


def what_was_at(memory: EpisodicMemory, stamp: float, place: int | None = None,
                region: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[Sighting, ...]:
    """The instances the memory believed present at ``stamp`` in ``place`` or in the box ``region``
    ((3,) min and max corners, metres): each as it was last known then."""
    if (place is None) == (region is None):
        raise InvalidInputError("what_was_at needs exactly one of a place or a region")
    with memory.lock:
        if place is not None:
            memory.places.require(place)
        found = []
        for inst in memory.instances.values():
            state = state_at(inst, stamp)
            if state is None or state.kind is EventKind.DISAPPEARED:
                continue
            position = np.array(state.position)
            if place is not None and state.place != place:
                continue
            if region is not None and not np.all((position >= region[0]) & (position <= region[1])):
                continue
            seen = max((b for a, b, _ in inst.intervals if a <= stamp), default=state.stamp)
            found.append(Sighting(instance=inst.id, position=state.position, bbox_min=state.position,
                                  bbox_max=state.position, place=state.place, stamp=min(seen, stamp), score=1.0,
                                  status="present" if state.kind is not EventKind.EVICTED else "forgotten",
                                  keyframe=keyframe_ref(memory, state.keyframe)))
        return tuple(found)


def state_at(inst: Instance, stamp: float) -> Event | None:
    """The instance's last event at or before ``stamp`` (None: not known then)."""
    state = None
    for event in inst.events:
        if event.stamp > stamp:
            break
        state = event
    return state


def route(memory: EpisodicMemory, place_a: int, place_b: int) -> Route:
    """The shortest travelled route between two places."""
    with memory.lock:
        return memory.places.route(place_a, place_b)


def places(memory: EpisodicMemory) -> tuple[tuple[PlaceInfo, ...], tuple[tuple[int, int, float], ...]]:
    """Every place and every travelled edge (a, b, length in metres)."""
    with memory.lock:
        infos = tuple(PlaceInfo(id=p.id, name=p.name, center=_vec(p.center), extent_min=_vec(p.lo - _grow(memory)),
                                extent_max=_vec(p.hi + _grow(memory)), last_visited=p.last_visited,
                                n_keyframes=len(p.keyframes),
                                instances=tuple(sorted((int(i), float(s)) for i, s in p.instances.items())))
                      for p in memory.places.places)
        return infos, tuple((a, b, float(length)) for (a, b), length in sorted(memory.places.edges.items()))


def _grow(memory: EpisodicMemory) -> np.ndarray:
    r = memory.config.places.radius_m
    return np.array([r, r, 0.0])


def _vec(v: np.ndarray) -> tuple[float, float, float]:
    return float(v[0]), float(v[1]), float(v[2])
