"""``mem3d bench ingest``: bag ingestion speed, decode alone and decode + perception + map.

A bag (MCAP by default) of synthetic 640x480 posed RGB-D frames of the household room, with Isaac-style
semantic segmentation, is written to a temporary directory; then timed:
- ``decode``: the bag read as a ``BagSource`` (deserialise, synchronise, decode the images, look the
  pose up), per frame; opening the bag (metadata, message definitions, the TF index) is ``bag_open_s``;
- ``perception``: the decoded frames through label perception alone (no service), for the split;
- ``map_update`` / ``episodic_record``: those feature frames applied in this process, the two shares
  of the service's work per frame (the write-ahead log and sockets excluded);
- ``bridge``: what the live node does per frame besides DDS: received messages (already deserialised)
  to an ``Observation`` and onto the observation stream's wire format;
- ``ingest``: ``mem3d ingest bag`` as a user runs it: decode + label-embedding perception
  (``label-minilm``) + the memory service (write-ahead log, map) in a thread, over loopback ZeroMQ.
Each stage gives wall-clock and CPU (``_cpu_``) ms per frame; ``cpu_bound_frames_per_s`` is what two
cores could do at most with those CPU costs (decode + perception + map + episodic, log and sockets
excluded): on a shared machine the CPU figures say what the work costs, the wall figures include
waiting for the cores. The label encoder is loaded, and the room's label texts embedded once, before
the clock starts (a long bag pays that once: about a second per new label set on two cores).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from mem3d.errors import InvalidInputError
from mem3d.types import CameraIntrinsics


@dataclass(frozen=True)
class IngestBenchConfig:
    frames: int = 60
    views: int = 6
    """Distinct synthetic views, cycled through with new stamps."""
    width: int = 640
    height: int = 480
    format: str = "mcap"
    n_samples: int = 20_000
    """Points per frame (``FrameConfig.n_samples``)."""
    target_frames_per_s: float = 20.0
    service_process: bool = True
    """The memory service as a child process (as ``mem3d ingest bag`` runs it) or a thread."""

    def __post_init__(self) -> None:
        for name in ("frames", "views", "width", "height", "n_samples"):
            if getattr(self, name) < 1:
                raise InvalidInputError(f"{name} must be >= 1, got {getattr(self, name)}")


def run(config: IngestBenchConfig, show_progress: bool = False) -> dict:
    from mem3d.encoder import create_encoder
    from perception.synthetic import household_room, orbit_observations
    from ros_bridge.bag.ingest import IngestConfig, ingest_bag
    from ros_bridge.bag.reader import BagSource
    from ros_bridge.bag.writer import write_bag

    views = orbit_observations(household_room(), CameraIntrinsics.from_fov(config.width, config.height, 90.0),
                               config.views)
    frames = [replace(views[i % len(views)], obs_id=i, stamp=0.1 * i) for i in range(config.frames)]
    from perception.config import FrameConfig
    from perception.frames import build_feature_frame

    encoder = create_encoder("label-minilm")
    for view in views:  # every view's label texts embedded once, before any clock starts
        build_feature_frame(view, encoder, FrameConfig(n_samples=config.n_samples))
    with tempfile.TemporaryDirectory(prefix="mem3d-ingest-bench-") as tmp:
        path = write_bag(Path(tmp) / ("bench.bag" if config.format == "rosbag1" else "bench"), frames, config.format)
        opening, decode, perception = Stage(), Stage(), Stage()
        with opening:
            source = BagSource(path)
        with decode:
            observations = list(source)
            source.close()
        decoded = len(observations)
        with perception:
            features = [build_feature_frame(obs, encoder, FrameConfig(n_samples=config.n_samples))
                        for obs in observations]
        mapping, episodic = _service_split(features, encoder, Path(tmp) / "split")
        del features
        result = ingest_bag(path, Path(tmp) / "store", IngestConfig(n_samples=config.n_samples,
                                                                      service_process=config.service_process),
                            show_progress=show_progress, encoder=encoder)
    bridge_ms = _bridge_ms_per_frame(frames)
    fps = result.frames_per_s
    return {
        "perception": encoder.info.model_id, "format": config.format, "frames": config.frames,
        "image": f"{config.width}x{config.height}", "n_samples": config.n_samples,
        "decode_frames": decoded, "bag_open_s": round(opening.wall_s, 3),
        "decode_frames_per_s": round(decoded / max(decode.wall_s, 1e-9), 1),
        **decode.figures("decode", decoded), **perception.figures("perception", decoded),
        **mapping.figures("map_update", decoded), **episodic.figures("episodic_record", decoded),
        "cpu_bound_frames_per_s": round(2000 / max(sum(stage.cpu_s for stage in (decode, perception, mapping, episodic))
                                                   * 1000 / max(decoded, 1), 1e-9), 1),
        "bridge_ms_per_frame": round(bridge_ms, 2), "bridge_target_ms": 10.0,
        "ingest_ms_per_frame": round(1000 / fps, 2) if fps else None,
        "ingest_frames": result.frames, "ingest_frames_per_s": fps, "n_voxels": result.n_voxels,
        "target_frames_per_s": config.target_frames_per_s, "target_met": fps >= config.target_frames_per_s,
        "service": "process" if config.service_process else "thread", "messages": list(result.messages),
    }


@dataclass
class Stage:
    """Wall-clock and CPU seconds (this process, all threads) spent inside ``with stage:`` blocks. On a
    shared machine the CPU time says what the work costs; the wall time also holds the waiting."""

    wall_s: float = 0.0
    cpu_s: float = 0.0

    def __enter__(self) -> Stage:
        self._started = (time.perf_counter(), time.process_time())
        return self

    def __exit__(self, *exc) -> None:
        self.wall_s += time.perf_counter() - self._started[0]
        self.cpu_s += time.process_time() - self._started[1]

    def figures(self, name: str, frames: int) -> dict:
        n = max(frames, 1)
        return {f"{name}_ms_per_frame": round(1000 * self.wall_s / n, 2),
                f"{name}_cpu_ms_per_frame": round(1000 * self.cpu_s / n, 2)}


def _service_split(features, encoder, store: Path) -> tuple[Stage, Stage]:
    """The service's two shares of applying ``features`` (no log, no sockets): the map update and the
    episodic memory's record of it."""
    from mem3d.service.durable import DurableMemory
    from mem3d.threads import blas_threads
    from mem3d.voxel_map import MapConfig

    with blas_threads(1):  # as the service runs (ServiceConfig.blas_threads)
        return _apply_all(features, DurableMemory(store, MapConfig(feature_dim=encoder.info.feature_dim,
                                                                    feature_model=encoder.info.model_id)))


def _apply_all(features, memory) -> tuple[Stage, Stage]:
    """Apply ``features`` to the ``DurableMemory``'s map and episodic memory directly, timing each."""
    mapping, episodic = Stage(), Stage()
    try:
        for seq, frame in enumerate(features, start=1):
            with mapping:
                update = memory.map.update(frame)
            with episodic:
                memory.episodic.record(frame, update, memory.map, seq)
    finally:
        memory.close(checkpoint=False)
    return mapping, episodic


def _bridge_ms_per_frame(frames) -> float:
    """Median ms of messages -> ``Observation`` -> wire frames, over ``frames`` made into messages."""
    import numpy as np

    from mem3d.protocol.messages import observation_to_message
    from mem3d.protocol.wire import encode
    from ros_bridge.bag.writer import BagRecorder
    from ros_bridge.convert.images import array_to_image, depth_to_image
    from ros_bridge.frames import make_observation

    with tempfile.TemporaryDirectory(prefix="mem3d-bridge-bench-") as tmp:
        maker = BagRecorder(Path(tmp) / "unused", "mcap")  # its message builders only; nothing written
        times = []
        for obs in frames:
            frame = "camera_color_optical_frame"
            color = maker.image(array_to_image(obs.rgb, "bgr8"), obs.stamp, frame)
            depth = maker.image(depth_to_image(obs.depth, "16UC1"), obs.stamp, frame)
            ids = maker.image(array_to_image(obs.semantic, "32SC1"), obs.stamp, frame)
            info = maker.camera_info(obs, obs.stamp)
            started = time.perf_counter()
            made = make_observation(color, depth, info, obs.T_world_camera, obs.obs_id, ids, obs.labels)
            encode(observation_to_message(made))
            times.append(1000 * (time.perf_counter() - started))
        return float(np.median(times))
