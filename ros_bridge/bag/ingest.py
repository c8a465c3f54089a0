"""Ingest a bag into a memory store: bag -> ``BagSource`` -> perception -> memory service -> store.

The service runs in a thread of this process on free loopback ports (real ZeroMQ sockets), so frames
take exactly the path of live ones: feature frames, write-ahead log, acknowledgement. A bag with a
semantic segmentation goes through label-embedding perception (``label-minilm``); plain RGB-D through
the CLIP encoder (``open-clip``), unless an encoder is named.
"""

from __future__ import annotations

import threading
import time
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


def choose_encoder(source: BagSource, config: IngestConfig) -> str:
    return config.encoder or (LABEL_ENCODER if source.semantic else CLIP_ENCODER)


def ingest_bag(path: str | Path, store: str | Path, config: IngestConfig | None = None,
               show_progress: bool = True, encoder=None) -> IngestResult:
    """Read the bag at ``path`` into the memory store ``store`` (created if missing); ``encoder`` may be
    given ready-made (tests, benchmarks), else it is created by name."""
    from mem3d.client import MemoryClient
    from mem3d.encoder import create_encoder
    from mem3d.service.config import ServiceConfig
    from mem3d.service.server import MemoryService
    from perception.config import FrameConfig
    from perception.node import PerceptionNode

    config = config or IngestConfig()
    source = BagSource(path, config.bag)
    name = choose_encoder(source, config)
    try:
        encoder = encoder or create_encoder(name, **config.encoder_options)
        service = MemoryService(ServiceConfig(store=str(store), bind=ANY_LOOPBACK_PORT, ingest_bind=ANY_LOOPBACK_PORT,
                                              publish_bind=ANY_LOOPBACK_PORT), encoder)
        thread = threading.Thread(target=service.run, name="mem3d-ingest-service", daemon=True)
        thread.start()
        try:
            with MemoryClient.of_service(service.endpoints, timeout=60) as client:
                stats = client.stats()
                encoder.info.require_compatible(stats.feature_dim, stats.feature_model)
                started = time.monotonic()  # frames/s counts the frames, not the service's start
                node = PerceptionNode(encoder, client, FrameConfig(n_samples=config.n_samples), name="bag")
                total = source.report.colour_messages if config.max_frames is None else min(
                    config.max_frames, source.report.colour_messages)
                frames = islice(iter(source), config.max_frames)
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
        finally:
            service.stop()
            thread.join(timeout=60)
    finally:
        source.close()
    report = source.report
    acknowledged = node.stats.acknowledged
    return IngestResult(str(path), report.format, str(store), encoder.info.model_id, acknowledged,
                        report.colour_messages, round(seconds, 3), round(acknowledged / max(seconds, 1e-9), 2),
                        n_voxels, tuple(report.messages()) + tuple(node.stats.refused),
                        asdict(report.topics) if report.topics else {})
