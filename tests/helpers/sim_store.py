"""A real store for the offline tools' tests: a short simulator tour, label-embedding perception, and
``DurableMemory`` writing checkpoint + write-ahead log as the service does (no sockets needed)."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

from mem3d.protocol.messages import frame_to_message
from mem3d.protocol.wire import encode
from mem3d.service.durable import DurableMemory, Ingest
from mem3d.voxel_map import MapConfig

SOURCE = "sim-test"


def write_sim_store(store: Path, encoder, views: int = 40, checkpoint_after: int | None = None,
                    width: int = 160, height: int = 120) -> tuple[Path, object]:
    """A store of the first ``views`` views of a room tour of apartment 0 (``width`` x ``height``);
    a checkpoint after ``checkpoint_after`` frames, the rest only in the log. (store, the source)."""
    from perception.config import FrameConfig
    from perception.frames import build_feature_frame
    from sim.config import CameraConfig, SimConfig
    from sim.embedded import EmbeddedSimSource
    from sim.tour import room_tour

    source = EmbeddedSimSource.from_spec("0", SimConfig(camera=CameraConfig(width=width, height=height)))
    observations = [source.reset(0)]
    for action in islice(room_tour(source), views - 1):
        source.act(action)
        observations.append(source.observe())
    info = encoder.info
    frames = (build_feature_frame(obs, encoder, FrameConfig(n_samples=4000)) for obs in observations)
    write_frames_store(store, frames, MapConfig(feature_dim=info.feature_dim, feature_model=info.model_id),
                       checkpoint_after)
    return store, source


def write_frames_store(store: Path, frames, map_config: MapConfig, checkpoint_after: int | None = None) -> Path:
    """A store holding ``frames`` (feature frames, in order) as the service writes them: each logged,
    applied to the map and the episodic memory; a checkpoint after ``checkpoint_after`` frames (None: at
    the end), the rest only in the log."""
    memory = DurableMemory(store, map_config)
    try:
        for i, frame in enumerate(frames):
            memory.ingest([Ingest([bytes(f) for f in encode(frame_to_message(frame, SOURCE))], frame, SOURCE)])
            if checkpoint_after is not None and i + 1 == checkpoint_after:
                memory.checkpoint(wait=True)
    finally:
        memory.close(checkpoint=checkpoint_after is None)
    return store
