"""``mem3d eval episodic``: seeded simulator episodes scored against ground truth.

Each episode is one generated apartment: the agent tours it (walking, no teleport), then
``rearrangements`` times the scene changes (objects moved to other rooms, one removed, one put back
somewhere else) and the agent tours it again. The memory sees only feature frames from label
perception (``label-minilm``), or from the same perception degraded (``perception.degradation``,
``degraded=True``). Questions come from ground truth, which only scores:

- position / time: "where / when did you last see X?" for each label that one object carries,
  against where that object stood and when it was last visible (>= ``min_visible_px`` pixels of the
  instance image); ``where_last_seen_accuracy`` counts answers within 0.5 m whose place lies in the
  object's room;
- binary: "was there an X in this room (a box region) at the end of tour k?", positives and negatives;
- change: "what changed since the end of tour k?", scored with Khronos' rule: appeared / disappeared
  matched one to one within 0.5 m with the same semantics (a move is a disappearance and an
  appearance; the instance's semantics is its nearest scene label); only changes of objects the
  agent saw before (disappeared) or after (appeared) the change count;
- route: between random pairs of places; valid when every edge of the answer joins places whose
  centres the simulator's nav grid connects within the edge's length + 0.5 m.

``map_localize_success`` asks the voxel map alone (``VoxelMap.localize``, top candidate within 0.5 m
of where the object was last seen): with a memory budget it shows what the voxels still know, beside
what the episodic memory answers.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass, field

import numpy as np

from mem3d.episodic import queries
from mem3d.episodic.config import BudgetConfig, EpisodicConfig
from mem3d.episodic.memory import EpisodicMemory
from mem3d.episodic.results import EventKind
from mem3d.voxel_map import MapConfig, VoxelMap

MATCH_M = 0.5


@dataclass(frozen=True)
class EpisodicEvalConfig:
    scenes: tuple[int, ...] = (1, 2, 3, 4, 5)
    """Apartment seeds, one episode each."""
    rearrangements: int = 3
    """Scene changes per episode, each followed by a tour."""
    move_fraction: float = 0.25
    """Fraction of the small objects on furniture moved to other rooms per change."""
    width: int = 320
    height: int = 240
    n_samples: int = 8000
    degraded: bool = False
    """Degraded perception (``perception.degradation.DEGRADED``) instead of exact labels."""
    min_visible_px: int = 30
    route_pairs: int = 20
    """Place pairs asked per episode."""
    max_voxels: int | None = None
    max_keyframes: int | None = None
    """The memory budget (``mem3d.episodic.budget``); None = unbounded."""
    change_min_sightings: int = 1
    """``changes_since``'s persistence rule: only instances sighted this often count as changes."""
    seed: int = 0


@dataclass
class _Object:
    label: str
    last_seen: float = -1.0
    last_centre: np.ndarray | None = None


@dataclass
class _Run:
    source: object
    memory: EpisodicMemory
    voxel_map: VoxelMap
    objects: dict[int, _Object] = field(default_factory=dict)
    tour_ends: list[float] = field(default_factory=list)
    states: list[dict[int, tuple[np.ndarray, str]]] = field(default_factory=list)
    """GT per tour end: instance -> (centre, label), what the agent had seen by then."""
    seen_before: list[set[int]] = field(default_factory=list)


def run(config: EpisodicEvalConfig, show_progress: bool = True) -> dict:
    from mem3d.encoder import create_encoder

    encoder = create_encoder("label-minilm")
    totals: dict[str, list] = {name: [] for name in ("position", "correct", "time", "binary", "route", "localize")}
    changes = [0, 0, 0, 0]  # matched predictions, predictions, matched truths, truths
    sizes = []
    for scene in config.scenes:
        episode = _episode(scene, config, encoder, show_progress)
        _score(episode, encoder, config, totals, changes)
        sizes.append((len(episode.voxel_map), len(episode.memory.keyframes)))
    n = 2 * len(totals["correct"]) + len(totals["binary"]) + len(totals["route"]) + changes[3]
    return {
        "perception": "label-minilm" + (" degraded" if config.degraded else ""),
        "scenes": list(config.scenes), "rearrangements": config.rearrangements,
        "position_error_m_median": _q(totals["position"], 50), "position_error_m_p90": _q(totals["position"], 90),
        "where_last_seen_accuracy": _mean(totals["correct"]), "time_error_s_median": _q(totals["time"], 50),
        "map_localize_success": _mean(totals["localize"]),
        "binary_accuracy": _mean(totals["binary"]),
        "change_precision": changes[0] / changes[1] if changes[1] else float("nan"),
        "change_recall": changes[2] / changes[3] if changes[3] else float("nan"),
        "route_valid_rate": _mean(totals["route"]), "n_questions": int(n),
        "n_position": len(totals["correct"]), "n_position_answered": len(totals["position"]),
        "n_binary": len(totals["binary"]), "n_change_truths": changes[3],
        "n_route": len(totals["route"]),
        "n_voxels": [v for v, _ in sizes], "n_keyframes": [k for _, k in sizes],
        "max_voxels": config.max_voxels, "max_keyframes": config.max_keyframes,
        "change_min_sightings": config.change_min_sightings,
    }


def _episode(scene: int, config: EpisodicEvalConfig, encoder, show_progress: bool) -> _Run:
    from bench.episodic_driver import tour
    from perception.config import FrameConfig
    from perception.degradation import DEGRADED, degrade
    from perception.frames import build_feature_frame
    from sim.config import CameraConfig, SimConfig
    from sim.embedded import EmbeddedSimSource

    source = EmbeddedSimSource(config=SimConfig(seed=scene, camera=CameraConfig(width=config.width,
                                                                                 height=config.height)))
    info = encoder.info
    voxel_map = VoxelMap(MapConfig(feature_dim=info.feature_dim, feature_model=info.model_id))
    budget = BudgetConfig(max_voxels=config.max_voxels, max_keyframes=config.max_keyframes)
    memory = EpisodicMemory(EpisodicConfig(budget=budget), voxel_map.voxel_size, info.match_threshold)
    episode = _Run(source, memory, voxel_map)
    frame_config = FrameConfig(n_samples=config.n_samples, seed=config.seed)

    def observe(observations) -> None:
        for obs in observations:
            truth = {t.instance_id: t for t in source.truth.objects()}
            ids, counts = np.unique(obs.instance, return_counts=True)
            for i, c in zip(ids.tolist(), counts.tolist()):
                if i in truth and c >= config.min_visible_px:
                    seen = episode.objects.setdefault(i, _Object(truth[i].label))
                    seen.last_seen, seen.last_centre = obs.stamp, (truth[i].bbox_min + truth[i].bbox_max) / 2
            perceived = degrade(obs, DEGRADED) if config.degraded else obs
            frame = build_feature_frame(perceived, encoder, frame_config)
            memory.record(frame, voxel_map.update(frame), voxel_map, memory.seq + 1)
        end = source.observe()
        episode.tour_ends.append(end.stamp)
        objects = {t.instance_id: t for t in source.truth.objects()}
        episode.states.append({i: ((objects[i].bbox_min + objects[i].bbox_max) / 2, objects[i].label)
                               for i in episode.objects if i in objects})
        episode.seen_before.append(set(episode.objects))
        if show_progress:
            print(f"scene {scene}: tour {len(episode.tour_ends)} done, {memory.frames} frames, "
                  f"{len(memory.instances)} instances, {len(memory.places)} places", file=sys.stderr)

    observe(itertools.chain([source.reset(config.seed)], tour(source)))
    removed = None
    for k in range(config.rearrangements):
        removed = _change(source, k, config, removed)
        observe(tour(source))
    return episode


def _change(source, k: int, config: EpisodicEvalConfig, removed):
    """Move some small objects to other rooms, put back the one removed last time elsewhere, remove one."""
    from sim.dynamics import footprint_radius, spot_on_support
    from sim.scene import ObjectKind, pose_from_xyz_yaw

    rng = np.random.default_rng((config.seed, k))
    result = source.dynamics.rearrange(config.move_fraction, seed=int(rng.integers(1 << 30)))
    moved = {e.instance_id for e in result.events}
    if removed is not None:
        supports = [o for o in source.scene if o.top_z() is not None]
        for index in rng.permutation(len(supports)):
            xy = spot_on_support(source.scene, supports[index], footprint_radius(removed), rng)
            if xy is None:
                continue
            removed.T_world_object = pose_from_xyz_yaw(xy[0], xy[1], supports[index].top_z()
                                                       - removed.mesh.bounds()[0][2], 0.0)
            try:
                source.dynamics.add_object(removed)
                break
            except Exception:  # noqa: BLE001 - a spot the placement check refuses: try another support
                continue
    smalls = [o for o in source.scene.of_kind(ObjectKind.SMALL) if o.support_id and o.instance_id not in moved]
    if not smalls:
        return None
    target = smalls[int(rng.integers(len(smalls)))]
    source.dynamics.remove_object(target.instance_id)
    return target


def _score(episode: _Run, encoder, config: EpisodicEvalConfig, totals: dict, changes: list) -> None:
    memory, source = episode.memory, episode.source
    labels = sorted({o.label for o in episode.objects.values()})
    embeddings = dict(zip(labels, encoder.encode_text(labels)))
    label_matrix = np.stack([embeddings[label] for label in labels])
    counts = {label: sum(o.label == label for o in episode.objects.values()) for label in labels}
    for obj in episode.objects.values():  # position and time: labels one object carries
        if counts[obj.label] != 1:
            continue
        found = episode.voxel_map.localize(embeddings[obj.label], top_k=1)  # the voxel map alone, for the budget
        totals["localize"].append(found.found and bool(np.linalg.norm(np.array(found.candidates[0].centroid)
                                                                      - obj.last_centre) <= MATCH_M))
        sighting = queries.where_last_seen(memory, embeddings[obj.label])
        if sighting is None:  # not found: wrong, and no error to add to the medians
            totals["correct"].append(False)
            continue
        error = float(np.linalg.norm(np.array(sighting.position) - obj.last_centre))
        totals["position"].append(error)
        same_room = _room(source, memory.places.places[sighting.place].center) == _room(source, obj.last_centre)
        totals["correct"].append(error <= MATCH_M and same_room)
        totals["time"].append(abs(sighting.stamp - obj.last_seen))
    _binary(episode, embeddings, labels, counts, totals, np.random.default_rng(config.seed))
    for k in range(len(episode.tour_ends) - 1):
        _changes(episode, k, label_matrix, labels, changes, config.change_min_sightings)
    _routes(episode, config, totals)


def _binary(episode: _Run, embeddings: dict, labels: list[str], counts: dict, totals: dict, rng) -> None:
    source, memory = episode.source, episode.memory
    rooms = source.scene.rooms
    for stamp, state in zip(episode.tour_ends, episode.states):
        for centre, label in state.values():
            if counts[label] != 1:
                continue
            here = _room(source, centre)
            there = [r for r in rooms if r.name != here]
            for room, truth in ((next(r for r in rooms if r.name == here), True),
                                (there[int(rng.integers(len(there)))] if there else None, False)):
                if room is None:
                    continue
                region = (np.array([*room.min_xy, -1.0]), np.array([*room.max_xy, 4.0]))
                found = queries.what_was_at(memory, stamp, region=region)
                scores = [float(memory.instances[s.instance].feature @ embeddings[label]) for s in found]
                answer = bool(scores) and max(scores) >= memory.match_threshold
                totals["binary"].append(answer == truth)


def _changes(episode: _Run, k: int, label_matrix: np.ndarray, labels: list[str], changes: list,
             min_sightings: int = 1) -> None:
    """Khronos-style change precision / recall between the end of tour k and the end of the episode."""
    before, after = episode.states[k], episode.states[-1]
    stamp = episode.tour_ends[k]
    truths = []
    for i in set(before) | set(after):
        a, b = before.get(i), after.get(i)
        moved = a is not None and b is not None and np.linalg.norm(a[0] - b[0]) > MATCH_M
        if a is not None and (b is None or moved):
            truths.append(("disappeared", a[0], a[1]))
        if b is not None and (moved or (a is None and _appeared_after(episode, i, stamp))):
            truths.append(("appeared", b[0], b[1]))
    predicted = []
    memory = episode.memory
    for inst_id in {e.instance for e in queries.changes_since(memory, stamp, min_sightings=min_sightings)}:
        inst = memory.instances[inst_id]
        label = labels[int(np.argmax(label_matrix @ inst.feature))]
        then = queries.state_at(inst, stamp)
        was = then is not None and then.kind is not EventKind.DISAPPEARED
        now = inst.status != "gone"
        if was and (not now or np.linalg.norm(np.array(then.position) - inst.position) > MATCH_M):
            predicted.append(("disappeared", np.array(then.position), label))
        if now and (not was or np.linalg.norm(np.array(then.position) - inst.position) > MATCH_M):
            predicted.append(("appeared", inst.position.copy(), label))
    matched = _match(predicted, truths)
    changes[0] += matched
    changes[1] += len(predicted)
    changes[2] += matched
    changes[3] += len(truths)


def _appeared_after(episode: _Run, instance: int, stamp: float) -> bool:
    """An object that was not in the scene at ``stamp`` (added later) rather than just not seen yet."""
    return any(c.event.kind == "added" and c.event.instance_id == instance and c.stamp > stamp
               for c in episode.source.dynamics.changes)


def _match(predicted: list, truths: list) -> int:
    used, matched = set(), 0
    for kind, position, label in predicted:
        for j, (t_kind, t_position, t_label) in enumerate(truths):
            close = np.linalg.norm(position - t_position) <= MATCH_M
            if j not in used and kind == t_kind and label == t_label and close:
                used.add(j)
                matched += 1
                break
    return matched


def _routes(episode: _Run, config: EpisodicEvalConfig, totals: dict) -> None:
    memory, navigation = episode.memory, episode.source.navigation
    n = len(memory.places)
    rng = np.random.default_rng(config.seed + 7)
    for _ in range(config.route_pairs if n > 1 else 0):
        a, b = (int(v) for v in rng.choice(n, size=2, replace=False))
        route = queries.route(memory, a, b)
        valid = route.found
        for p, q in zip(route.places[:-1], route.places[1:]):
            edge = memory.places.edges[(min(p, q), max(p, q))]
            centres = memory.places.places[p].center[:2], memory.places.places[q].center[:2]
            valid = valid and navigation.geodesic_distance(*centres) <= edge + 0.5
        totals["route"].append(bool(valid))


def _room(source, xy) -> str:
    room = source.scene.room_at(float(xy[0]), float(xy[1]))
    return room.name if room else ""


def _q(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def _mean(values: list) -> float:
    return float(np.mean(values)) if values else float("nan")
