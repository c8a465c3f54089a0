"""Fixtures of the simulator tests: small cameras, fresh apartments, sources; open3d kept offline."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

# open3d's dataset helpers download into OPEN3D_DATA_ROOT: point it at a throw-away directory
os.environ.setdefault("OPEN3D_DATA_ROOT", tempfile.mkdtemp(prefix="open3d-data-"))

from mem3d.types import CameraIntrinsics  # noqa: E402
from sim.apartment import generate_apartment  # noqa: E402
from sim.config import CameraConfig, SimConfig  # noqa: E402
from sim.embedded import EmbeddedSimSource  # noqa: E402
from sim.scene import Scene  # noqa: E402

SMALL = CameraConfig(width=160, height=120)


@pytest.fixture
def small_camera() -> CameraIntrinsics:
    return SMALL.intrinsics()


@pytest.fixture
def apartment() -> Scene:
    """A fresh default apartment (seed 0); tests may change it."""
    return generate_apartment(0)


@pytest.fixture
def small_config() -> SimConfig:
    return SimConfig(camera=SMALL)


@pytest.fixture
def source(apartment: Scene, small_config: SimConfig) -> EmbeddedSimSource:
    """An embedded source over the default apartment at 160x120, reset with seed 0."""
    src = EmbeddedSimSource(apartment, small_config)
    src.reset(0)
    yield src
    src.close()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
