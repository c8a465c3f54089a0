"""``EpisodicMemory``: records places, keyframes, instances and events from each applied frame.

``record(frame, update, voxel_map)`` runs once per frame after the map update, in the thread that
owns the map; it reads the frame and its ``MapUpdate`` only (never the whole map, except to choose
voxels to evict when over budget). Everything is deterministic given the frames, so a log replay
rebuilds exactly the same memory. Queries (``mem3d.episodic.queries``) take ``lock`` for a state as
of one recorded frame (``seq``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

import numpy as np

from mem3d.episodic import budget
from mem3d.episodic.config import EpisodicConfig
from mem3d.episodic.instances import (
    STATUS_CODES,
    Instance,
    InstanceTable,
    Segment,
    frame_segments,
    join_segments,
    match_segments,
)
from mem3d.episodic.keyframes import Keyframe, KeyframeSink, MemorySink, is_novel, make_keyframe
from mem3d.episodic.places import PlaceGraph
from mem3d.episodic.results import NO_KEYFRAME, Event, EventKind
from mem3d.map import keys as voxel_keys
from mem3d.types import FeatureFrame, MapUpdate

KEYFRAME_TEST_PLACES_M = 6.0
"""Keyframes of places within this distance (horizontal, metres) of a new cluster decide whether it
appeared (they saw free space there) or was only discovered."""
KEYFRAME_TEST_COUNT = 48
"""At most this many of those keyframes (those taken nearest to the cluster) are asked."""
FREE_FRACTION = 0.3
"""The fraction of a new cluster's voxels a keyframe must have seen as free space."""


@dataclass
class _Pending:
    kind: EventKind
    instance: Instance
    from_place: int = -1
    from_position: np.ndarray | None = None


@dataclass
class _FrameWork:
    frame: FeatureFrame
    place: int
    seen: set[int] = field(default_factory=set)
    events: list[_Pending] = field(default_factory=list)
    new_instance: bool = False


class EpisodicMemory:
    """Places, keyframes, instances and their event log, built frame by frame."""

    def __init__(self, config: EpisodicConfig | None, voxel_size: float, match_threshold: float = 0.5,
                 sink: KeyframeSink | None = None) -> None:
        self.config = config or EpisodicConfig()
        self.voxel_size = float(voxel_size)
        self.match_threshold = float(match_threshold)
        """Default cosine a query must reach (the map's localization threshold)."""
        self.sink: KeyframeSink = sink or MemorySink()
        self.places = PlaceGraph(self.config.places)
        self.keyframes: dict[int, Keyframe] = {}
        self.instances: dict[int, Instance] = {}
        self.log: list[Event] = []
        """Every event, in the order recorded."""
        self.seq = 0
        """Write-ahead log sequence number of the newest frame recorded (0 = none)."""
        self.frames = 0
        self.next_instance = 0
        self.next_keyframe = 0
        self.structure = np.empty((0, 0), dtype=np.float32)
        """(S, D) features found to be floors, walls, ceilings (``instances.frame_segments``)."""
        self.lock = threading.RLock()
        self._block_owners: dict[int, set[int]] = {}
        self._table = InstanceTable()

    # --- recording ------------------------------------------------------------------------

    def record(self, frame: FeatureFrame, update: MapUpdate, voxel_map=None, seq: int = 0) -> MapUpdate:
        """Record one applied frame; returns ``update`` with the voxels the budget evicted added
        (they are removed from ``voxel_map``, a ``VoxelMap``, which the budget needs)."""
        with self.lock:
            work = _FrameWork(frame, self.places.observe(frame.T_world_camera[:3, 3], frame.stamp))
            segments, structure = frame_segments(frame, self.voxel_size, self.config.instances, self.structure)
            if structure:
                self._mark_structure(np.stack(structure))
            matches = match_segments(segments, self._table, self.config.instances)
            matched = {i for i in matches if i is not None}
            lost = np.concatenate([update.removed, update.contradicted])
            self._lose(lost, carved=True, spared=matched, work=work)
            self._lose(update.evicted, carved=False, spared=matched, work=work)
            for inst_id, parts in _by_instance(segments, matches).items():
                if inst_id in self.instances:
                    self._see(self.instances[inst_id], parts, work)
            unmatched = [segment for segment, inst_id in zip(segments, matches) if inst_id is None]
            for segment in join_segments(unmatched, self.config.instances, 2 * self.voxel_size, self.voxel_size):
                self._new(segment, work)
            self._merge_overlapping(work)
            keyframe = self._maybe_keyframe(work, update)
            self._emit(work, keyframe)
            evicted = self._enforce_budget(voxel_map, frame, work)
            self.seq, self.frames = int(seq), self.frames + 1
            if evicted.size == 0:
                return update
            return MapUpdate(update.obs_id, update.stamp, update.added, update.updated, update.removed,
                             np.concatenate([update.evicted, evicted]), update.contradicted)

    def _mark_structure(self, features: np.ndarray) -> None:
        """New structure features: instances made of them were pieces of floors and walls."""
        self.structure = features if self.structure.size == 0 else np.vstack([self.structure, features])
        rows = self._table.rows(*STATUS_CODES)
        if rows.size == 0:
            return
        made_of = (self._table.features[rows] @ features.T).max(axis=1) >= self.config.instances.same_object_cosine
        for inst_id in self._table.ids[rows[made_of]].tolist():
            self._drop_instance(self.instances[inst_id])

    def _lose(self, keys: np.ndarray, carved: bool, spared: set[int], work: _FrameWork) -> None:
        """Take voxels the map lost out of the instances; those carved away (or all evicted) end."""
        if keys.size == 0:
            return
        keys = np.unique(keys)
        owners = set().union(*(self._block_owners.get(b, ()) for b in _blocks(keys).tolist()))
        for inst_id in sorted(owners):
            inst = self.instances.get(inst_id)
            if inst is None or inst.status != "present" or inst.keys.size == 0:
                continue
            at = np.minimum(np.searchsorted(inst.keys, keys), inst.keys.size - 1)
            held = at[inst.keys[at] == keys]
            if held.size == 0:
                continue
            inst.keys = np.delete(inst.keys, held)
            inst.locate(self.voxel_size)
            self._table.put(inst)
            if inst.id in spared:
                continue
            if carved and (inst.keys.size <= self.config.instances.gone_fraction * inst.peak
                           or inst.keys.size < self.config.instances.min_voxels):
                self._gone(inst, work)
            elif not carved and inst.keys.size == 0:
                inst.status = "forgotten"
                self._table.put(inst)
                work.events.append(_Pending(EventKind.EVICTED, inst))

    def _gone(self, inst: Instance, work: _FrameWork) -> None:
        """``inst`` was seen to be gone: moved if a similar instance appeared since, else disappeared."""
        partner = self._appeared_partner(inst)
        if partner is None:
            inst.status = "gone"
            inst.appeared_unpaired = False
            self._table.put(inst)
            work.events.append(_Pending(EventKind.DISAPPEARED, inst))
            return
        old_place, old_position = inst.place, inst.position.copy()
        self._absorb(inst, partner)
        work.events.append(_Pending(EventKind.MOVED, inst, old_place, old_position))

    def _appeared_partner(self, inst: Instance) -> Instance | None:
        cos = self.config.instances.same_object_cosine
        found = [j for j in self.instances.values() if j.appeared_unpaired and j.id != inst.id and j.status == "present"
                 and j.first_seen >= inst.last_seen and float(j.feature @ inst.feature) >= cos]
        return min(found, key=lambda j: (-float(j.feature @ inst.feature), j.first_seen)) if found else None

    def _absorb(self, inst: Instance, other: Instance) -> None:
        """``inst`` now stands where ``other`` (the other half of its move) was found; ``other`` ends."""
        inst.keys, inst.peak, inst.place = other.keys, other.keys.size, other.place
        inst.position, inst.lo, inst.hi = other.position, other.lo, other.hi
        inst.seen_from, inst.status, inst.appeared_unpaired = dict(other.seen_from), "present", False
        inst.last_seen, inst.last_obs_id = max(inst.last_seen, other.last_seen), other.last_obs_id
        inst.keyframe = other.keyframe if other.keyframe != NO_KEYFRAME else inst.keyframe
        inst.intervals += other.intervals
        inst.n_sightings += other.n_sightings
        self._drop_instance(other)
        self._table.put(inst)
        self._own(inst.id, inst.keys)

    def _drop_instance(self, inst: Instance) -> None:
        if inst.events:
            ids = {id(e) for e in inst.events}
            self.log = [e for e in self.log if id(e) not in ids]
        if inst.keyframe != NO_KEYFRAME:  # a keyframe that shows an instance is always one it points to
            for keyframe in self.keyframes.values():
                keyframe.instances.discard(inst.id)
        for place in self.places.places:
            place.instances.pop(inst.id, None)
        del self.instances[inst.id]
        self._table.forget(inst.id)

    def _see(self, inst: Instance, segments: list[Segment], work: _FrameWork) -> None:
        """``inst`` seen again as ``segments`` (the frame's clusters matched to it, one sighting each)."""
        config = self.config.instances
        added = segments[0].keys if len(segments) == 1 else np.unique(np.concatenate([s.keys for s in segments]))
        fresh = _missing(added, inst.keys)
        if inst.keys.size + fresh.size <= config.max_keys:
            if fresh.size:  # the same voxels seen again change nothing
                inst.grow(fresh, self.voxel_size)
        else:  # one segment at a time: a union over the cap restarts from that segment
            for segment in segments:
                keys = np.union1d(inst.keys, segment.keys)
                inst.keys = keys if keys.size <= config.max_keys else segment.keys
                inst.peak = max(inst.peak, inst.keys.size)
            inst.locate(self.voxel_size)
        for i, segment in enumerate(segments):
            inst.feature = _unit(inst.feature * min(inst.n_sightings + i, 20) + segment.feature)
        if inst.status == "forgotten":
            inst.status = "present"
        self._table.put(inst)
        self._sighted(inst, work, fresh, len(segments))

    def _sighted(self, inst: Instance, work: _FrameWork, added: np.ndarray, count: int = 1) -> None:
        """Bookkeeping of a sighting: places, intervals, events; ``added``: its voxel keys not indexed by
        block yet, ``count`` the clusters it was seen as."""
        stamp, place = float(work.frame.stamp), work.place
        inst.seen_from[place] = stamp
        previous, inst.place = inst.place, self._place_of(inst)
        self.places.places[place].instances[inst.id] = stamp
        if not inst.intervals or stamp - inst.intervals[-1][1] > self.config.instances.sighting_gap_s:
            inst.intervals.append([stamp, stamp, float(inst.place)])
            if inst.id not in {p.instance.id for p in work.events}:
                work.events.append(_Pending(EventKind.SEEN, inst))
        else:
            inst.intervals[-1][1] = stamp
            if previous != inst.place:
                self._refine_last_event(inst)
        inst.last_seen, inst.last_obs_id = stamp, int(work.frame.obs_id)
        inst.n_sightings += count
        work.seen.add(inst.id)
        self._own(inst.id, added)

    def _refine_last_event(self, inst: Instance) -> None:
        """A closer view placed the instance better: its latest event, if it belongs to the current
        sighting interval, takes the better place (a first glimpse through a door is not where it is)."""
        if not inst.events or not inst.intervals or inst.events[-1].stamp < inst.intervals[-1][0]:
            return
        old = inst.events[-1]
        new = replace(old, place=inst.place, position=_vec(inst.position))
        inst.events[-1] = new
        self.log[max(i for i, e in enumerate(self.log) if e is old)] = new

    def _place_of(self, inst: Instance) -> int:
        """Of the places it was seen from, the nearest to it (a view implies a line of sight; the
        lowest id on ties)."""
        ids = np.array(sorted(inst.seen_from), dtype=np.int64)
        return int(ids[np.argmin(self.places.distances_from(ids, inst.position[:2]))])

    def _new(self, segment: Segment, work: _FrameWork) -> None:
        """A cluster no instance explains: an object that appeared (an earlier keyframe saw free space
        where it is), the new location of one that was gone (moved), or one discovered. One that
        appeared or was first seen on a revisit of the camera's place is a candidate end of a move:
        it takes over a similar gone instance now, or one that goes later (``_gone``)."""
        appeared = self._saw_free_before(segment)
        candidate = appeared or self.places.places[work.place].visits > 1
        if candidate:
            gone = self._gone_partner(segment)
            if gone is not None:
                old_place, old_position = gone.place, gone.position.copy()
                self._retract_last(gone, EventKind.DISAPPEARED)
                gone.keys, gone.peak, gone.status, gone.seen_from = segment.keys, segment.keys.size, "present", {}
                gone.locate(self.voxel_size)
                self._table.put(gone)
                self._sighted(gone, work, segment.keys)
                far = float(np.linalg.norm(gone.position - old_position)) > self.config.instances.match_distance_m
                work.events = [p for p in work.events if p.instance is not gone]
                work.events.append(_Pending(EventKind.MOVED if far else EventKind.APPEARED, gone, old_place,
                                            old_position if far else None))
                return
        inst = Instance(self.next_instance, segment.feature.copy(), segment.keys, segment.keys.size,
                        float(work.frame.stamp), float(work.frame.stamp), int(work.frame.obs_id),
                        appeared_unpaired=candidate)
        self.next_instance += 1
        inst.locate(self.voxel_size)
        self.instances[inst.id] = inst
        self._table.put(inst)
        work.new_instance = True
        self._sighted(inst, work, segment.keys)
        if appeared:
            work.events = [p for p in work.events if p.instance is not inst]
            work.events.append(_Pending(EventKind.APPEARED, inst))

    def _merge_overlapping(self, work: _FrameWork) -> None:
        """Instances seen in this frame whose boxes touch another present instance of a similar feature
        are one object seen in pieces: the younger joins the older (until no such pair is left)."""
        table = self._table
        rows = table.rows("present")
        if rows.size < 2:
            return
        cos, margin = self.config.instances.same_object_cosine, self.voxel_size * 2
        ids, lo, hi = table.ids[rows], table.boxes[rows, 0], table.boxes[rows, 1]
        alive = np.ones(rows.size, dtype=bool)
        for inst_id in sorted(work.seen):
            r = int(np.searchsorted(ids, inst_id))  # ids ascend with the rows
            if r == ids.size or ids[r] != inst_id or not alive[r]:
                continue
            inst = self.instances[inst_id]
            alive[r] = False  # not its own partner (restored below)
            while True:
                near = np.flatnonzero(alive & np.all(lo - margin <= inst.hi, axis=1)
                                      & np.all(inst.lo - margin <= hi, axis=1))
                touching = near[table.features[rows[near]] @ inst.feature >= cos]
                if touching.size == 0:
                    break
                other = self.instances[int(ids[touching[0]])]
                older, younger = (other, inst) if other.id < inst.id else (inst, other)
                self._join(older, younger, work)
                gone_row, kept_row = np.searchsorted(ids, [younger.id, older.id])
                alive[gone_row] = False
                lo[kept_row], hi[kept_row] = older.lo, older.hi
                if younger is inst:
                    break
            alive[r] = inst.id in self.instances

    def _join(self, older: Instance, younger: Instance, work: _FrameWork) -> None:
        """``younger`` was a piece of ``older``: its voxels and sightings go to ``older``, it ends."""
        older.keys = np.union1d(older.keys, younger.keys)[-self.config.instances.max_keys:]
        older.peak = max(older.peak, older.keys.size)
        older.first_seen = min(older.first_seen, younger.first_seen)
        older.last_seen = max(older.last_seen, younger.last_seen)
        older.seen_from.update(younger.seen_from)
        older.locate(self.voxel_size)
        self._table.put(older)
        work.events = [p for p in work.events if p.instance is not younger]
        work.seen.discard(younger.id)
        work.seen.add(older.id)
        self._drop_instance(younger)
        self._own(older.id, younger.keys)

    def _gone_partner(self, segment: Segment) -> Instance | None:
        cos = self.config.instances.same_object_cosine
        found = [i for i in self.instances.values() if i.status == "gone" and float(i.feature @ segment.feature) >= cos]
        return max(found, key=lambda i: (float(i.feature @ segment.feature), i.last_seen)) if found else None

    def _retract_last(self, inst: Instance, kind: EventKind) -> None:
        if inst.events and inst.events[-1].kind is kind:
            event = inst.events.pop()
            self.log = [e for e in self.log if e is not event]

    def _saw_free_before(self, segment: Segment) -> bool:
        """Whether a keyframe saw free space where most of the cluster's voxels stand now (asking the
        ``KEYFRAME_TEST_COUNT`` keyframes taken nearest to it, of places within ``KEYFRAME_TEST_PLACES_M``)."""
        config = self.config.instances
        centre = segment.centroid
        near = self.places.within(centre[:2], KEYFRAME_TEST_PLACES_M)
        candidates = [self.keyframes[k] for p in near.tolist() for k in self.places.places[p].keyframes]
        if not candidates:
            return False
        distance = np.linalg.norm(np.stack([k.T_world_camera[:3, 3] for k in candidates]) - centre, axis=1)
        candidates = [candidates[i] for i in np.argsort(distance, kind="stable")[:KEYFRAME_TEST_COUNT].tolist()]
        points = voxel_keys.centers(segment.keys, self.voxel_size)
        needed = max(config.min_voxels, int(np.ceil(FREE_FRACTION * points.shape[0])))
        for keyframe in candidates:
            if int(keyframe.sees_free(points, config.free_margin_m).sum()) >= needed:
                return True
        return False

    # --- keyframes, events ----------------------------------------------------------------

    def _maybe_keyframe(self, work: _FrameWork, update: MapUpdate) -> Keyframe | None:
        frame = work.frame
        if frame.depth is None or frame.intrinsics is None:
            return None
        place = self.places.places[work.place]
        in_place = [self.keyframes[k] for k in place.keyframes]
        unsupported = any(self.instances[i].keyframe == NO_KEYFRAME for i in work.seen if i in self.instances)
        changed = any(p.kind is not EventKind.SEEN for p in work.events)
        n_voxels = update.added.size + update.updated.size
        if not (changed or unsupported or work.new_instance
                or is_novel(in_place, frame.T_world_camera, update.added.size, n_voxels, self.config.keyframes)):
            return None
        keyframe, images = make_keyframe(self.next_keyframe, frame, work.place, self.config.keyframes)
        self.next_keyframe += 1
        self.sink.put(keyframe.id, images)
        keyframe.instances = {i for i in work.seen if i in self.instances}
        for i in keyframe.instances:
            self.instances[i].keyframe = keyframe.id
        self.keyframes[keyframe.id] = keyframe
        place.keyframes.append(keyframe.id)
        return keyframe

    def _emit(self, work: _FrameWork, keyframe: Keyframe | None) -> None:
        for pending in work.events:
            inst = pending.instance
            if inst.id not in self.instances:
                continue
            kf = keyframe.id if keyframe is not None and inst.id in keyframe.instances else inst.keyframe
            event = Event(kind=pending.kind, instance=inst.id, stamp=float(work.frame.stamp),
                          obs_id=int(work.frame.obs_id), place=inst.place, position=_vec(inst.position), keyframe=kf,
                          from_place=pending.from_place,
                          from_position=None if pending.from_position is None else _vec(pending.from_position))
            inst.events.append(event)
            self.log.append(event)

    # --- the budget -----------------------------------------------------------------------

    def _enforce_budget(self, voxel_map, frame: FeatureFrame, work: _FrameWork) -> np.ndarray:
        caps = self.config.budget
        if caps.max_keyframes is not None and len(self.keyframes) > caps.max_keyframes:
            shows = {k.id: k.instances & self.instances.keys() for k in self.keyframes.values()}
            by_place = {p.id: list(p.keyframes) for p in self.places.places}
            dropped = budget.keyframes_to_evict(by_place, budget.evidence_cover(shows),
                                                len(self.keyframes) - caps.max_keyframes)
            for k in dropped:
                self._drop_keyframe(k)
            for inst in self.instances.values():
                if inst.keyframe in dropped:
                    inst.keyframe = max(k for k, ids in shows.items() if inst.id in ids and k in self.keyframes)
        none = np.empty(0, dtype=np.int64)
        if caps.max_voxels is None or voxel_map is None or len(voxel_map) <= caps.max_voxels:
            return none
        columns = voxel_map.contents().columns
        keys, positions = columns["key"], columns["position"]
        protected = np.isin(keys, budget.all_keys(i.keys for i in self.instances.values() if i.status == "present"))
        slots = budget.voxels_to_evict(columns["last_seen"], self.places.distances(positions[:, :2]), protected,
                                       float(frame.stamp), self.config.places.radius_m, caps.max_voxels,
                                       caps.low_water)
        evicted = voxel_map.evict(slots)
        after = _FrameWork(frame, work.place)
        self._lose(evicted, carved=False, spared=set(), work=after)
        self._emit(after, None)
        return evicted

    def _drop_keyframe(self, keyframe_id: int) -> None:
        keyframe = self.keyframes.pop(keyframe_id)
        self.places.places[keyframe.place].keyframes.remove(keyframe_id)
        self.sink.drop(keyframe_id)

    def _own(self, inst_id: int, keys: np.ndarray) -> None:
        """Index voxel ``keys`` of an instance by block (entries are never removed: ``_lose`` checks)."""
        owners = self._block_owners
        for block in _blocks(keys).tolist():
            if block in owners:
                owners[block].add(inst_id)
            else:
                owners[block] = {inst_id}

    def rebuild_owners(self) -> None:
        """The voxel-block index and the stacked table of the instances (after a restore)."""
        self._block_owners, self._table = {}, InstanceTable()
        for inst in self.instances.values():
            self._own(inst.id, inst.keys)
            self._table.put(inst)

    # --- queries (mem3d.episodic.queries) -------------------------------------------------

    def keyframe_images(self, keyframe_id: int):
        """The stored ``KeyframeImages`` of a keyframe."""
        return self.sink.get(keyframe_id)


def _by_instance(segments: list[Segment], matches: list[int | None]) -> dict[int, list[Segment]]:
    """Instance id -> the segments matched to it, in frame order (instances by their first segment)."""
    parts: dict[int, list[Segment]] = {}
    for segment, inst_id in zip(segments, matches):
        if inst_id is not None:
            parts.setdefault(inst_id, []).append(segment)
    return parts


def _missing(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """The elements of sorted unique ``keys`` that sorted unique ``sorted_keys`` lacks."""
    if sorted_keys.size == 0:
        return keys
    at = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    return keys[sorted_keys[at] != keys]


def _blocks(keys: np.ndarray) -> np.ndarray:
    coords = voxel_keys.unpack(keys) >> voxel_keys.BLOCK_SHIFT
    return np.unique(voxel_keys.pack(coords))


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


def _vec(v: np.ndarray) -> tuple[float, float, float]:
    return float(v[0]), float(v[1]), float(v[2])
