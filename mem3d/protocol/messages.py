"""Typed conversions between mem3d types and wire ``Message``s (see docs/protocol.md)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mem3d.errors import InvalidInputError
from mem3d.protocol.wire import ErrorCode, Message, ProtocolError
from mem3d.types import CameraIntrinsics, Candidate, FeatureFrame, LocalizeResult, MapUpdate, Observation

# Request types and the type of their successful reply.
REPLY_TYPES = {
    "ping": "pong",
    "stats": "stats_result",
    "localize": "localize_result",
    "ingest": "ingest_ack",
    "save": "save_result",
    "shutdown": "shutdown_ack",
}
ERROR = "error"
MAP_UPDATE_TOPIC = b"map.update"


def field(fields: dict[str, Any], name: str, kinds: type | tuple[type, ...], default: Any = ...) -> Any:
    """A header field of the given type(s); a missing field takes ``default`` or is an error."""
    if name not in fields or fields[name] is None:
        if default is ...:
            raise ProtocolError(ErrorCode.INVALID_INPUT, f"header field {name!r} is required")
        return default
    value = fields[name]
    if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        raise ProtocolError(ErrorCode.INVALID_INPUT, f"header field {name!r} has the wrong type (bool)")
    if float in (kinds if isinstance(kinds, tuple) else (kinds,)) and isinstance(value, int):
        value = float(value)
    if not isinstance(value, kinds):
        raise ProtocolError(ErrorCode.INVALID_INPUT,
                            f"header field {name!r} has the wrong type ({type(value).__name__})")
    if isinstance(value, float) and not math.isfinite(value):
        raise ProtocolError(ErrorCode.INVALID_INPUT, f"header field {name!r} must be finite")
    return value


def array(message: Message, name: str, required: bool = True) -> np.ndarray | None:
    if name not in message.arrays:
        if required:
            raise ProtocolError(ErrorCode.INVALID_INPUT, f"array {name!r} is required")
        return None
    return message.arrays[name]


def error_message(request_id: int, code: ErrorCode, text: str) -> Message:
    return Message(ERROR, request_id, {"code": code.value, "message": text})


# --- ingest -----------------------------------------------------------------------------------

def frame_to_message(frame: FeatureFrame, source: str, request_id: int = 0) -> Message:
    """A feature frame as an ``ingest`` request; ``source`` names the sender for deduplication."""
    index = frame.feature_index
    if index.size and not (0 <= index.min() and index.max() <= np.iinfo(np.int32).max):
        raise InvalidInputError(f"feature_index must lie in [0, 2**31), got [{index.min()}, {index.max()}]")
    arrays = {"points": frame.points, "colors": frame.colors, "features": frame.features,
              "feature_index": index.astype(np.int32, copy=False),
              "pose": np.asarray(frame.T_world_camera, dtype=np.float64)}
    fields: dict[str, Any] = {"source": source, "obs_id": int(frame.obs_id), "stamp": float(frame.stamp),
                              "feature_model": frame.feature_model, "intrinsics": None}
    if frame.depth is not None and frame.intrinsics is not None:
        arrays["depth"] = frame.depth
        k = frame.intrinsics
        fields["intrinsics"] = [float(k.fx), float(k.fy), float(k.cx), float(k.cy), int(k.width), int(k.height)]
    return Message("ingest", request_id, fields, arrays)


def message_to_frame(message: Message) -> tuple[FeatureFrame, str]:
    """An ``ingest`` request -> (feature frame, source). Shapes and values are checked by the map."""
    f = message.fields
    intrinsics = None
    raw = f.get("intrinsics")
    if raw is not None:
        if not (isinstance(raw, list) and len(raw) == 6):
            raise ProtocolError(ErrorCode.INVALID_INPUT, "intrinsics must be [fx, fy, cx, cy, width, height]")
        try:
            intrinsics = CameraIntrinsics(*raw)
        except InvalidInputError as error:
            raise ProtocolError(ErrorCode.INVALID_INPUT, f"intrinsics: {error}") from None
    frame = FeatureFrame(points=array(message, "points"), colors=array(message, "colors"),
                         features=array(message, "features"), feature_index=array(message, "feature_index"),
                         T_world_camera=array(message, "pose"), stamp=field(f, "stamp", float),
                         obs_id=field(f, "obs_id", int), depth=array(message, "depth", required=False),
                         intrinsics=intrinsics, feature_model=field(f, "feature_model", str, ""))
    source = field(f, "source", str)
    if not source or len(source) > 256:
        raise ProtocolError(ErrorCode.INVALID_INPUT, "source must be a string of 1 to 256 characters")
    return frame, source


def update_fields(update: MapUpdate) -> dict[str, int]:
    return {"added": int(update.added.size), "updated": int(update.updated.size),
            "removed": int(update.removed.size), "evicted": int(update.evicted.size),
            "contradicted": int(update.contradicted.size)}


# --- localize ---------------------------------------------------------------------------------

def localize_request(text: str | None = None, embedding: np.ndarray | None = None, top_k: int = 5,
                     threshold: float | None = None, request_id: int = 0) -> Message:
    if (text is None) == (embedding is None):
        raise ValueError("give exactly one of text or embedding")
    arrays = {} if embedding is None else {"embedding": np.asarray(embedding, dtype=np.float32)}
    fields = {"text": text, "top_k": int(top_k), "threshold": None if threshold is None else float(threshold)}
    return Message("localize", request_id, fields, arrays)


def result_to_message(result: LocalizeResult, request_id: int) -> Message:
    candidates = [{"centroid": list(c.centroid), "bbox_min": list(c.bbox_min), "bbox_max": list(c.bbox_max),
                   "score": c.score, "n_voxels": c.n_voxels, "first_seen": c.first_seen,
                   "last_seen": c.last_seen, "obs_id": c.obs_id} for c in result.candidates]
    return Message("localize_result", request_id, {"found": result.found, "threshold": result.threshold,
                                                   "n_matching_voxels": result.n_matching_voxels,
                                                   "candidates": candidates})


def message_to_result(message: Message) -> LocalizeResult:
    f = message.fields
    candidates = tuple(Candidate(centroid=tuple(c["centroid"]), bbox_min=tuple(c["bbox_min"]),
                                 bbox_max=tuple(c["bbox_max"]), score=float(c["score"]),
                                 n_voxels=int(c["n_voxels"]), first_seen=float(c["first_seen"]),
                                 last_seen=float(c["last_seen"]), obs_id=int(c["obs_id"]))
                       for c in f["candidates"])
    return LocalizeResult(candidates, float(f["threshold"]), int(f["n_matching_voxels"]))


# --- observations (robot or simulator -> perception) ------------------------------------------

OBSERVATION_TOPIC = b"obs"


def observation_to_message(obs: Observation) -> Message:
    k = obs.intrinsics
    arrays = {"rgb": obs.rgb, "depth": obs.depth, "pose": np.asarray(obs.T_world_camera, dtype=np.float64)}
    for name in ("semantic", "instance"):
        if getattr(obs, name) is not None:
            arrays[name] = getattr(obs, name)
    return Message("observation", 0, {
        "stamp": float(obs.stamp), "obs_id": int(obs.obs_id),
        "intrinsics": [float(k.fx), float(k.fy), float(k.cx), float(k.cy), int(k.width), int(k.height)],
        "labels": [[int(i), str(text)] for i, text in obs.labels.items()],
        "descriptions": [[int(i), str(text)] for i, text in obs.descriptions.items()]}, arrays)


def _id_texts(fields: dict[str, Any], name: str) -> dict[int, str]:
    """An optional list of [id, text] pairs (``labels``, ``descriptions``) as a dict."""
    pairs = fields.get(name, [])
    if not (isinstance(pairs, list) and all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], int)
                                            and isinstance(p[1], str) for p in pairs)):
        raise ProtocolError(ErrorCode.INVALID_INPUT, f"{name} must be a list of [id, text] pairs")
    return {i: text for i, text in pairs}


def message_to_observation(message: Message) -> Observation:
    """An ``observation`` message -> a validated ``Observation``."""
    f = message.fields
    raw = f.get("intrinsics")
    if not (isinstance(raw, list) and len(raw) == 6):
        raise ProtocolError(ErrorCode.INVALID_INPUT, "intrinsics must be [fx, fy, cx, cy, width, height]")
    labels, descriptions = _id_texts(f, "labels"), _id_texts(f, "descriptions")
    try:
        intrinsics = CameraIntrinsics(*(float(v) for v in raw[:4]), int(raw[4]), int(raw[5]))
        obs = Observation(rgb=array(message, "rgb"), depth=array(message, "depth"), intrinsics=intrinsics,
                          T_world_camera=array(message, "pose"), stamp=field(f, "stamp", float),
                          obs_id=field(f, "obs_id", int), semantic=array(message, "semantic", required=False),
                          instance=array(message, "instance", required=False),
                          labels=labels, descriptions=descriptions)
        return obs.validate()
    except (ValueError, TypeError) as error:
        raise ProtocolError(ErrorCode.INVALID_INPUT, f"bad observation: {error}") from None
