"""The episodic memory as plain data and back: a msgpack-able header plus named numpy arrays.

``to_state`` copies everything (call it between two frames); ``from_state`` rebuilds a memory that
records and answers exactly as the original would. Storage is ``mem3d.io.episodic_store``'s job.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mem3d.config import config_from_dict, config_to_dict
from mem3d.episodic.config import EpisodicConfig
from mem3d.episodic.instances import Instance
from mem3d.episodic.keyframes import Keyframe, KeyframeSink
from mem3d.episodic.memory import EpisodicMemory
from mem3d.episodic.places import Place
from mem3d.episodic.results import Event, EventKind
from mem3d.errors import StoreError
from mem3d.types import CameraIntrinsics

STATE_VERSION = 1


def to_state(memory: EpisodicMemory) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(header, arrays) describing ``memory`` completely."""
    arrays: dict[str, np.ndarray] = {"structure": memory.structure.copy()}
    graph = memory.places
    header: dict[str, Any] = {
        "version": STATE_VERSION, "config": config_to_dict(memory.config), "voxel_size": memory.voxel_size,
        "match_threshold": memory.match_threshold, "seq": memory.seq, "frames": memory.frames,
        "next_instance": memory.next_instance, "next_keyframe": memory.next_keyframe,
        "current_place": graph.current,
        "last_position": None if graph.last_position is None else graph.last_position.tolist(),
        "edges": [[a, b, length] for (a, b), length in graph.edges.items()],
        "places": [{"id": p.id, "center": p.center.tolist(), "lo": p.lo.tolist(), "hi": p.hi.tolist(),
                    "last_visited": p.last_visited, "keyframes": list(p.keyframes),
                    "instances": [[i, s] for i, s in p.instances.items()], "visits": p.visits}
                   for p in graph.places],
        "keyframes": [], "instances": [], "log": [_event(e) for e in memory.log]}
    for k in memory.keyframes.values():
        i = k.intrinsics
        header["keyframes"].append({"id": k.id, "obs_id": k.obs_id, "stamp": k.stamp, "place": k.place,
                                    "pose": k.T_world_camera.ravel().tolist(),
                                    "intrinsics": [i.fx, i.fy, i.cx, i.cy, i.width, i.height],
                                    "instances": sorted(k.instances)})
        arrays[f"kf{k.id}/depth"] = k.test_depth.copy()
    for inst in memory.instances.values():
        header["instances"].append({
            "id": inst.id, "peak": inst.peak, "first_seen": inst.first_seen, "last_seen": inst.last_seen,
            "last_obs_id": inst.last_obs_id, "place": inst.place, "status": inst.status, "keyframe": inst.keyframe,
            "appeared_unpaired": inst.appeared_unpaired, "seen_from": [[p, s] for p, s in inst.seen_from.items()],
            "intervals": [list(v) for v in inst.intervals], "n_sightings": inst.n_sightings,
            "position": inst.position.tolist(), "lo": inst.lo.tolist(), "hi": inst.hi.tolist()})
        arrays[f"in{inst.id}/feature"] = inst.feature.copy()
        arrays[f"in{inst.id}/keys"] = inst.keys.copy()
    return header, arrays


def from_state(header: dict[str, Any], arrays: dict[str, np.ndarray], sink: KeyframeSink) -> EpisodicMemory:
    """The memory ``to_state`` described; ``StoreError`` if the state is incomplete or of another version."""
    if header.get("version") != STATE_VERSION:
        raise StoreError(f"episodic state version {header.get('version')!r}, this mem3d reads {STATE_VERSION}")
    try:
        return _rebuild(header, arrays, sink)
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise StoreError(f"the episodic state is incomplete or malformed: {error!r}") from None


def _rebuild(header: dict[str, Any], arrays: dict[str, np.ndarray], sink: KeyframeSink) -> EpisodicMemory:
    config = config_from_dict(EpisodicConfig, header["config"], where="stored episodic config")
    memory = EpisodicMemory(config, header["voxel_size"], header["match_threshold"], sink)
    for name in ("seq", "frames", "next_instance", "next_keyframe"):
        setattr(memory, name, int(header[name]))
    memory.structure = arrays["structure"]
    places = [Place(p["id"], np.array(p["center"]), np.array(p["lo"]), np.array(p["hi"]), p["last_visited"],
                    list(p["keyframes"]), {int(i): float(s) for i, s in p["instances"]}, int(p.get("visits", 1)))
              for p in header["places"]]
    memory.places.restore(places, {(int(a), int(b)): float(length) for a, b, length in header["edges"]},
                          int(header["current_place"]),
                          None if header["last_position"] is None else np.array(header["last_position"]))
    for k in header["keyframes"]:
        keyframe = Keyframe(k["id"], k["obs_id"], k["stamp"], k["place"], np.array(k["pose"]).reshape(4, 4),
                            CameraIntrinsics(*k["intrinsics"][:4], int(k["intrinsics"][4]), int(k["intrinsics"][5])),
                            arrays[f"kf{k['id']}/depth"], set(k["instances"]))
        memory.keyframes[keyframe.id] = keyframe
    for i in header["instances"]:
        inst = Instance(i["id"], arrays[f"in{i['id']}/feature"], arrays[f"in{i['id']}/keys"], i["peak"],
                        i["first_seen"], i["last_seen"], i["last_obs_id"], i["place"], i["status"], i["keyframe"],
                        i["appeared_unpaired"], {int(p): float(s) for p, s in i["seen_from"]},
                        [list(v) for v in i["intervals"]], [], i["n_sightings"], np.array(i["position"]),
                        np.array(i["lo"]), np.array(i["hi"]))
        memory.instances[inst.id] = inst
    for e in header["log"]:
        event = Event(kind=EventKind(e["kind"]), instance=e["instance"], stamp=e["stamp"], obs_id=e["obs_id"],
                      place=e["place"], position=tuple(e["position"]), keyframe=e["keyframe"],
                      from_place=e["from_place"],
                      from_position=None if e["from_position"] is None else tuple(e["from_position"]))
        memory.log.append(event)
        memory.instances[event.instance].events.append(event)
    memory.rebuild_owners()
    return memory


def _event(e: Event) -> dict[str, Any]:
    return {"kind": e.kind.value, "instance": e.instance, "stamp": e.stamp, "obs_id": e.obs_id, "place": e.place,
            "position": list(e.position), "keyframe": e.keyframe, "from_place": e.from_place,
            "from_position": None if e.from_position is None else list(e.from_position)}
