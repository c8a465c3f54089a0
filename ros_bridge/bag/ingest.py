"""Ingest a bag into a memory store: bag -> ``BagSource`` -> perception -> memory service -> store.

The service runs as a ``mem3d serve`` child process (or, for tests, in a thread of this process) on
free loopback ports (real ZeroMQ sockets), so frames take exactly the path of live ones: feature
frames, write-ahead log, acknowledgement. A bag with a semantic segmentation goes through
label-embedding perception (``label-minilm``); plain RGB-D through the CLIP encoder (``open-clip``),
unless an encoder is named.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path

from tqdm import tqdm

from mem3d.comms.endpoints import ANY_LOOPBACK_PORT
from ros_bridge.bag.reader import BagConfig, BagSource

LABEL_ENCODER, CLIP_ENCODER = "label-minilm", "open-clip"


@dataclass(frozen=True)
class IngestConfig:
    bag: BagConfig = field(default_factory=BagConfig)
    encoder: str = ""
    """Registry name; "" = label-minilm for a segmented bag, open-clip otherwise."""
    encoder_options: dict = field(default_factory=dict)
    n_samples: int = 20_000
    """Points per frame."""
    max_frames: int | None = None
    service_process: bool = True
    """Run the memory service as a child process (``mem3d serve``: its own interpreter, so decoding,
    perception and the map run in parallel on two cores); False = a thread of this process."""


@dataclass(frozen=True)
class IngestResult:
    bag: str
    format: str
    store: str
    encoder: str
    frames: int
    """Frames acknowledged by the memory."""
    colour_messages: int
    seconds: float
    frames_per_s: float
    n_voxels: int
    messages: tuple[str, ...]
    """What went wrong, with counts (see ``BagReport.messages``)."""
    topics: dict

    def to_dict(self) -> dict:
        return asdict(self)


@contextmanager
def _service(store: str | Path, encoder, separate_process: bool) -> Iterator[dict[str, str]]:
    """A memory service on ``store`` for ``encoder``'s features, on free loopback ports; its endpoints."""
    from mem3d.voxel_map import MapConfig

    if separate_process:
        from mem3d.apps.service_process import start_service_process

        map_config = MapConfig(feature_dim=encoder.info.feature_dim, feature_model=encoder.info.model_id)
        with start_service_process(store, map_config=map_config) as service:
            yield service.endpoints
            service.wait(timeout=120)
        return
    from mem3d.service.config import ServiceConfig
    from mem3d.service.server import MemoryService

    service = MemoryService(ServiceConfig(store=str(store), bind=ANY_LOOPBACK_PORT, ingest_bind=ANY_LOOPBACK_PORT,
                                          publish_bind=ANY_LOOPBACK_PORT), encoder)
    thread = threading.Thread(target=service.run, name="mem3d-ingest-service", daemon=True)
    thread.start()
    try:
        yield service.endpoints
    finally:
        service.stop()
        thread.join(timeout=60)


def choose_encoder(source: BagSource, config: IngestConfig) -> str:
    return config.encoder or (LABEL_ENCODER if source.semantic else CLIP_ENCODER)


def ingest_bag(path: str | Path, store: str | Path, config: IngestConfig | None = None,
               show_progress: bool = True, encoder=None) -> IngestResult:
    """Read the bag at ``path`` into the memory store ``store`` (created if missing); ``encoder`` may be
    given ready-made (tests, benchmarks), else it is created by name."""
    from mem3d.client import MemoryClient
    from mem3d.encoder import create_encoder
    from perception.config import FrameConfig
    from perception.node import PerceptionNode

    config = config or IngestConfig()
    source = BagSource(path, config.bag)
    try:
        encoder = encoder or create_encoder(choose_encoder(source, config), **config.encoder_options)
        with _service(store, encoder, config.service_process) as endpoints:
            with MemoryClient.of_service(endpoints, timeout=60) as client:
                stats = client.stats()
                encoder.info.require_compatible(stats.feature_dim, stats.feature_model)
                node = PerceptionNode(encoder, client, FrameConfig(n_samples=config.n_samples), name="bag")
                total = source.report.colour_messages if config.max_frames is None else min(
                    config.max_frames, source.report.colour_messages)
                frames = islice(iter(source), config.max_frames)
                started = time.monotonic()  # frames/s counts the frames, not the service's start
                with tqdm(total=total, unit="frame", desc="ingesting", disable=not show_progress or None,
                          leave=False) as bar:
                    size = max(1, min(encoder.batch_size, node.delivery.max_in_flight))
                    while batch := list(islice(frames, size)):
                        node.process_batch(batch)
                        bar.update(len(batch))
                    node.flush()
                seconds = time.monotonic() - started
                client.save()
                n_voxels = client.stats().n_voxels
                if config.service_process:
                    client.shutdown()
    finally:
        source.close()
    report = source.report
    acknowledged = node.stats.acknowledged
    return IngestResult(str(path), report.format, str(store), encoder.info.model_id, acknowledged,
                        report.colour_messages, round(seconds, 3), round(acknowledged / max(seconds, 1e-9), 2),
                        n_voxels, tuple(report.messages()) + tuple(node.stats.refused),
                        asdict(report.topics) if report.topics else {})
