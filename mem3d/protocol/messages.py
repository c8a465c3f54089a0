"""Conversions between mem3d types and wire messages (the dataclasses of requests and announcements)."""

from __future__ import annotations

import numpy as np

from mem3d.errors import InvalidInputError
from mem3d.protocol.announcements import ObservationAnnouncement
from mem3d.protocol.codec import Intrinsics
from mem3d.protocol.requests import IngestRequest, LocalizeRequest
from mem3d.protocol.wire import ErrorCode, Message, ProtocolError
from mem3d.types import CameraIntrinsics, FeatureFrame, Observation


def _intrinsics_fields(k: CameraIntrinsics) -> Intrinsics:
    return float(k.fx), float(k.fy), float(k.cx), float(k.cy), int(k.width), int(k.height)


def _intrinsics(raw: Intrinsics) -> CameraIntrinsics:
    try:
        return CameraIntrinsics(*raw)
    except InvalidInputError as error:
        raise ProtocolError(ErrorCode.INVALID_INPUT, f"intrinsics: {error}") from None


# --- ingest -----------------------------------------------------------------------------------

def frame_to_message(frame: FeatureFrame, source: str, request_id: int = 0) -> Message:
    """A feature frame as an ``ingest`` request; ``source`` names the sender for deduplication."""
    index = frame.feature_index
    if index.size and not (0 <= index.min() and index.max() <= np.iinfo(np.int32).max):
        raise InvalidInputError(f"feature_index must lie in [0, 2**31), got [{index.min()}, {index.max()}]")
    with_depth = frame.depth is not None and frame.intrinsics is not None
    return IngestRequest(
        source=source, obs_id=int(frame.obs_id), stamp=float(frame.stamp), feature_model=frame.feature_model,
        intrinsics=_intrinsics_fields(frame.intrinsics) if with_depth else None,
        points=frame.points, colors=frame.colors, features=frame.features,
        feature_index=index.astype(np.int32, copy=False),
        T_world_camera=np.asarray(frame.T_world_camera, dtype=np.float64),
        depth=frame.depth if with_depth else None,
        rgb=frame.rgb if with_depth else None).to_message(request_id)


def message_to_frame(message: Message) -> tuple[FeatureFrame, str]:
    """An ``ingest`` request -> (feature frame, source). Shapes and values are checked by the map."""
    request = IngestRequest.from_message(message)
    if not request.source or len(request.source) > 256:
        raise ProtocolError(ErrorCode.INVALID_INPUT, "source must be a string of 1 to 256 characters")
    frame = FeatureFrame(points=request.points, colors=request.colors, features=request.features,
                         feature_index=request.feature_index, T_world_camera=request.T_world_camera,
                         stamp=request.stamp, obs_id=request.obs_id, depth=request.depth,
                         intrinsics=None if request.intrinsics is None else _intrinsics(request.intrinsics),
                         feature_model=request.feature_model, rgb=request.rgb)
    return frame, request.source


# --- localize ---------------------------------------------------------------------------------

def localize_request(text: str | None = None, embedding: np.ndarray | None = None, top_k: int = 5,
                     threshold: float | None = None) -> LocalizeRequest:
    if (text is None) == (embedding is None):
        raise ValueError("give exactly one of text or embedding")
    return LocalizeRequest(text=text, top_k=int(top_k), threshold=None if threshold is None else float(threshold),
                           embedding=None if embedding is None else np.asarray(embedding, dtype=np.float32))


# --- observations (robot or simulator -> perception) ------------------------------------------

def observation_to_message(obs: Observation) -> Message:
    return ObservationAnnouncement(
        stamp=float(obs.stamp), obs_id=int(obs.obs_id), intrinsics=_intrinsics_fields(obs.intrinsics),
        labels=tuple((int(i), str(text)) for i, text in obs.labels.items()),
        descriptions=tuple((int(i), str(text)) for i, text in obs.descriptions.items()),
        rgb=obs.rgb, depth=obs.depth, T_world_camera=np.asarray(obs.T_world_camera, dtype=np.float64),
        semantic=obs.semantic, instance=obs.instance).to_message()


def message_to_observation(message: Message) -> Observation:
    """An ``observation`` message -> a validated ``Observation``."""
    announced = ObservationAnnouncement.from_message(message)
    try:
        obs = Observation(rgb=announced.rgb, depth=announced.depth, intrinsics=_intrinsics(announced.intrinsics),
                          T_world_camera=announced.T_world_camera, stamp=announced.stamp, obs_id=announced.obs_id,
                          semantic=announced.semantic, instance=announced.instance,
                          labels=dict(announced.labels), descriptions=dict(announced.descriptions))
        return obs.validate()
    except (ValueError, TypeError) as error:
        raise ProtocolError(ErrorCode.INVALID_INPUT, f"bad observation: {error}") from None
