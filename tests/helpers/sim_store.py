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
    memory = DurableMemory(store, MapConfig(feature_dim=info.feature_dim, feature_model=info.model_id))
    try:
        for i, obs in enumerate(observations):
            frame = build_feature_frame(obs, encoder, FrameConfig(n_samples=4000))
            memory.ingest([Ingest([bytes(f) for f in encode(frame_to_message(frame, SOURCE))], frame, SOURCE)])
            if checkpoint_after is not None and i + 1 == checkpoint_after:
                memory.checkpoint(wait=True)
    finally:
        memory.close(checkpoint=checkpoint_after is None)
    return store, source
