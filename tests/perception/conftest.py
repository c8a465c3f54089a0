"""Shared fixtures: the real MiniLM label encoder, a tiny open_clip model saved as a checkpoint file,
and synthetic observations. Models load once per session (slow on two cores)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mem3d.types import CameraIntrinsics
from perception.synthetic import LabelledRoom, household_room, orbit_observations

TINY_ARCH = "mem3d-test-tiny-vit"
TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def write_tiny_clip_checkpoint(directory: Path, arch: str = TINY_ARCH, config: dict = TINY_CONFIG,
                               seed: int = 0) -> Path:
    """Register ``arch`` with open_clip and save a randomly initialised model of it to a file."""
    import open_clip
    import torch

    config_path = directory / f"{arch}.json"
    config_path.write_text(json.dumps(config))
    open_clip.add_model_config(config_path)
    torch.manual_seed(seed)
    model = open_clip.create_model(arch)
    checkpoint = directory / f"{arch}-seed{seed}.pt"
    torch.save(model.state_dict(), checkpoint)
    return checkpoint


@pytest.fixture(scope="session")
def tiny_clip_writer():
    """``write_tiny_clip_checkpoint(directory, arch=..., config=..., seed=...) -> Path``."""
    return write_tiny_clip_checkpoint


@pytest.fixture(scope="session")
def tiny_clip_config() -> dict:
    return json.loads(json.dumps(TINY_CONFIG))


@pytest.fixture(scope="session")
def tiny_clip_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_clip_checkpoint(tmp_path_factory.mktemp("tiny_clip"))


@pytest.fixture(scope="session")
def tiny_clip_encoder(tiny_clip_checkpoint: Path):
    from perception.encoders import create_encoder

    return create_encoder("open-clip", arch=TINY_ARCH, pretrained=str(tiny_clip_checkpoint),
                          device="cpu", input_long_side=128, batch_size=2)


@pytest.fixture(scope="session")
def label_encoder():
    from perception.encoders import create_encoder

    return create_encoder("label-minilm")


@pytest.fixture(scope="session")
def room() -> LabelledRoom:
    return household_room()


@pytest.fixture(scope="session")
def room_views(room: LabelledRoom):
    """Three 320x240 views of the household room, with semantic labels."""
    return orbit_observations(room, CameraIntrinsics.from_fov(320, 240, 90.0), 3)


@pytest.fixture
def run_service():
    """``run_service(config) -> endpoints``: a ``MemoryService`` serving in a thread until the test ends."""
    import threading

    from mem3d.service.server import MemoryService

    running = []

    def start(config) -> dict[str, str]:
        service = MemoryService(config)
        thread = threading.Thread(target=service.run, daemon=True)
        thread.start()
        running.append((service, thread))
        return dict(service.endpoints)

    yield start
    for service, thread in running:
        service.stop()
        thread.join(timeout=30)
