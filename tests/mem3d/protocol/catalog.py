"""Every typed wire message, with one example of each (shared by the protocol tests)."""

from __future__ import annotations

import numpy as np

from mem3d.episodic.results import Event, EventKind, Interval, KeyframeRef, PlaceInfo, Sighting
from mem3d.protocol import announcements, episodic, replies, requests
from mem3d.protocol.codec import WireMessage
from mem3d.protocol.wire import ErrorCode
from mem3d.types import Candidate


def message_classes() -> list[type[WireMessage]]:
    """Every concrete message dataclass of ``mem3d.protocol`` (those with a ``TYPE``)."""
    found, stack = [], [WireMessage]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if "TYPE" in vars(cls) and cls.__module__ in (requests.__name__, replies.__name__, announcements.__name__,
                                                               episodic.__name__):
            found.append(cls)
    return sorted(found, key=lambda cls: cls.TYPE)


def _cluster(x: float) -> announcements.Cluster:
    return announcements.Cluster(centroid=(x, 0.5, 0.25), bbox_min=(x - 0.1, 0.4, 0.0), bbox_max=(x + 0.1, 0.6, 0.5),
                                 n_voxels=12)


CANDIDATE = Candidate(centroid=(1.5, 0.0, 0.25), bbox_min=(1.3, -0.2, 0.0), bbox_max=(1.7, 0.2, 0.5), score=0.83,
                      n_voxels=120, first_seen=10.0, last_seen=12.5, obs_id=7)
KEYFRAME = KeyframeRef(id=3, obs_id=41, stamp=20.5, place=2, T_world_camera=tuple(np.eye(4).ravel().tolist()),
                       intrinsics=(100.0, 100.0, 3.5, 2.5, 8, 6))
SIGHTING = Sighting(instance=7, position=(1.0, 2.0, 0.8), bbox_min=(0.9, 1.9, 0.7), bbox_max=(1.1, 2.1, 0.9), place=2,
                    stamp=20.5, score=0.91, status="present", keyframe=KEYFRAME)
MOVED = Event(kind=EventKind.MOVED, instance=7, stamp=30.0, obs_id=60, place=4, position=(5.0, 1.0, 0.8), keyframe=5,
              from_place=2, from_position=(1.0, 2.0, 0.8))
EPISODIC_NESTED = [Sighting, Event, KeyframeRef, Interval, PlaceInfo]
"""The episodic result dataclasses that travel as nested maps."""
EXAMPLES: list[WireMessage] = [
    episodic.WhereLastSeenRequest(text="red mug"), episodic.HistoryRequest(embedding=np.ones(8, np.float32)),
    episodic.WhenSeenRequest(text="sofa", threshold=0.7), episodic.ChangesSinceRequest(stamp=12.0, place=3),
    episodic.WhatWasAtRequest(stamp=12.0, region_min=(0.0, 0.0, 0.0), region_max=(2.0, 2.0, 1.0)),
    episodic.RouteRequest(from_place=0, to_place=4), episodic.PlacesRequest(),
    episodic.KeyframeImageRequest(keyframe=3),
    episodic.WhereLastSeenReply(found=True, sighting=SIGHTING, seq=9),
    episodic.HistoryReply(found=True, instance=7, events=(MOVED,), seq=9),
    episodic.WhenSeenReply(found=True, instance=7, intervals=(Interval(start=1.0, end=4.5, place=2),), seq=9),
    episodic.ChangesReply(events=(MOVED,), seq=9), episodic.WhatWasAtReply(instances=(SIGHTING,), seq=9),
    episodic.RouteReply(found=True, places=(0, 2, 4), length_m=6.5, seq=9),
    episodic.PlacesReply(places=(PlaceInfo(id=0, name="place 0", center=(1.0, 1.0, 1.2), extent_min=(-0.5, -0.5, 1.2),
                                           extent_max=(2.5, 2.5, 1.2), last_visited=3.0, n_keyframes=2,
                                           instances=((7, 2.5),)),), edges=((0, 2, 3.25),), seq=9),
    episodic.KeyframeImageReply(keyframe=KEYFRAME, rgb_jpeg=np.zeros(10, np.uint8), depth_png=np.zeros(12, np.uint8)),
    requests.PingRequest(), requests.StatsRequest(), requests.SaveRequest(), requests.ShutdownRequest(),
    requests.LocalizeRequest(text="red mug", top_k=3, threshold=0.25),
    requests.LocalizeRequest(embedding=np.ones(8, np.float32)),
    requests.OccupancyRequest(region=(-1.0, -2.0, 3.0, 4.0), since_seq=7), requests.OccupancyRequest(),
    requests.IngestRequest(source="cam", obs_id=4, stamp=1.5, feature_model="synthetic",
                           intrinsics=(100.0, 100.0, 3.5, 2.5, 8, 6), points=np.zeros((2, 3), np.float32),
                           colors=np.zeros((2, 3), np.uint8), features=np.eye(2, 8, dtype=np.float32),
                           feature_index=np.array([0, 1], np.int32), T_world_camera=np.eye(4),
                           depth=np.ones((6, 8), np.float32)),
    replies.Pong(server="mem3d", version="0.1.0"),
    replies.StatsReply(n_voxels=10, feature_dim=8, feature_model="synthetic", voxel_size=0.05, map_bytes=4096,
                       log_seq=3, frames_ingested=3, frames_since_checkpoint=1, last_checkpoint=None, uptime_s=2.5,
                       text_queries=False),
    replies.LocalizeReply(found=True, threshold=0.3, n_matching_voxels=130, candidates=(CANDIDATE,)),
    replies.OccupancyReply(col0=-4, row0=3, cell_m=0.05, seq=9, stamp=4.5, applied_seq=10,
                           codes=np.array([[0, 1], [2, 3]], np.int8), last_seen=np.full((2, 2), -np.inf)),
    replies.OccupancyReply(col0=0, row0=0, cell_m=0.05, seq=0, stamp=None, codes=np.zeros((0, 0), np.int8),
                           last_seen=np.zeros((0, 0))),
    replies.SaveReply(checkpoint="ckpt-000001", n_voxels=10),
    replies.ShutdownAck(),
    replies.IngestAck(obs_id=4, seq=9, duplicate=False, added=5, updated=2, removed=1, evicted=0, contradicted=1),
    replies.ErrorReply(code=ErrorCode.INVALID_INPUT, message="top_k must be in [1, 100], got 0"),
    announcements.MapUpdateAnnouncement(obs_id=4, stamp=1.5, added=20, removed=9, regions=((1, 0, 0, 20, 9),),
                                        appeared=(_cluster(1.0),), disappeared=(_cluster(2.0), _cluster(3.0))),
    announcements.ObservationAnnouncement(stamp=2.0, obs_id=5, intrinsics=(100.0, 100.0, 3.5, 2.5, 8, 6),
                                          labels=((3, "sofa"),), rgb=np.zeros((6, 8, 3), np.uint8),
                                          depth=np.ones((6, 8), np.float32), T_world_camera=np.eye(4),
                                          semantic=np.zeros((6, 8), np.int32)),
]
