"""Bags written with ``rosbags`` from embedded-simulator frames, in the three formats, ingested into a
memory store through label-embedding perception and the memory service; damaged bags give their
documented message and ingest what they can. Ground truth only scores the answers."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mem3d.errors import EndOfStreamError
from mem3d.service.store_view import open_store_readonly
from ros_bridge.bag.ingest import IngestConfig, ingest_bag
from ros_bridge.bag.reader import BagError, BagSource
from ros_bridge.bag.writer import BAG_FORMATS, BagLayout, BagRecorder, write_bag
from tests.ros_bridge.conftest import NEAR_M, distance_to

pytestmark = pytest.mark.slow
CONFIG = IngestConfig(n_samples=4000, service_process=False)  # the service in a thread: no process start


def bag_path(directory: Path, fmt: str) -> Path:
    return directory / ("recording.bag" if fmt == "rosbag1" else f"recording_{fmt}")


def best_match(store: Path, encoder, text: str):
    view = open_store_readonly(store)
    result = view.voxel_map.localize(encoder.encode_text([text])[0], threshold=encoder.info.match_threshold)
    return result.candidates[0] if result.found else None


@pytest.mark.parametrize("fmt", BAG_FORMATS)
def test_each_bag_format_is_ingested_and_a_query_finds_the_object(tmp_path, toured, label_encoder, fmt):
    frames, target = toured
    path = write_bag(bag_path(tmp_path, fmt), frames, fmt)
    result = ingest_bag(path, tmp_path / "store", CONFIG, show_progress=False, encoder=label_encoder)
    assert (result.frames, result.colour_messages, result.messages) == (len(frames), len(frames), ())
    assert result.encoder.startswith("label-minilm") and result.n_voxels > 1000
    best = best_match(tmp_path / "store", label_encoder, target.label)
    assert best is not None and distance_to(target, best.centroid) < NEAR_M
    assert best_match(tmp_path / "store", label_encoder, "motorcycle") is None


@pytest.mark.parametrize("fmt", BAG_FORMATS)
def test_a_truncated_bag_says_so_and_ingests_the_frames_before_the_cut(tmp_path, toured, label_encoder, fmt):
    frames, target = toured
    path = write_bag(bag_path(tmp_path, fmt), frames, fmt)
    data = path if path.is_file() else next(p for p in path.iterdir() if p.suffix in (".mcap", ".db3"))
    with open(data, "r+b") as file:
        file.truncate(int(data.stat().st_size * 0.6))
    result = ingest_bag(path, tmp_path / "store", CONFIG, show_progress=False, encoder=label_encoder)
    assert "damaged" in result.messages[0] and "cut short" in result.messages[0]
    assert 0 < result.frames < len(frames)
    best = best_match(tmp_path / "store", label_encoder, target.label)
    assert best is not None and distance_to(target, best.centroid) < NEAR_M


def test_frames_with_an_unsupported_encoding_are_skipped_with_the_reason(tmp_path, toured, label_encoder):
    frames, _ = toured
    frames = frames[:8]
    path = tmp_path / "recording_mcap"
    with BagRecorder(path, "mcap") as bag:
        for i, obs in enumerate(frames):
            bag.layout = BagLayout(depth_encoding="64FC1" if i < 3 else "16UC1")  # a driver switched mid-way
            bag.write_observation(obs)
    result = ingest_bag(path, tmp_path / "store", CONFIG, show_progress=False, encoder=label_encoder)
    assert result.frames == len(frames) - 3
    assert any("3 frame(s) skipped: depth image encoding '64FC1' is not supported; use 16UC1" in m
               for m in result.messages)


def test_a_bag_without_tf_or_poses_is_refused_with_the_fix(tmp_path, toured):
    frames, _ = toured
    path = write_bag(tmp_path / "no_tf.bag", frames[:3], "rosbag1", BagLayout(tf=False))
    with pytest.raises(BagError, match="no /tf, /tf_static or pose topic.*--pose-topic"):
        BagSource(path)
    command = [sys.executable, "-m", "mem3d.apps.cli", "ingest", "bag", str(path), "--store", str(tmp_path / "s")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "no /tf, /tf_static or pose topic" in done.stderr
    assert not (tmp_path / "s").exists()  # nothing was created for a bag that gives nothing


def test_frames_outside_the_recorded_tf_are_skipped_with_the_transform_message(tmp_path, toured):
    frames, _ = toured
    path = tmp_path / "late_tf_mcap"
    layout = BagLayout()
    with BagRecorder(path, "mcap", BagLayout(tf=False)) as bag:
        for i, obs in enumerate(frames[:6]):
            if i >= 2:  # localisation starts with the third frame
                from ros_bridge.bag.writer import T_LINK_OPTICAL

                if i == 2:
                    bag.write_transforms("/tf_static", [bag.transform(layout.link_frame, layout.optical_frame,
                                                                      T_LINK_OPTICAL, obs.stamp)], obs.stamp)
                T_world_link = obs.T_world_camera @ np.linalg.inv(T_LINK_OPTICAL)
                bag.write_transforms("/tf", [bag.transform("map", layout.link_frame, T_world_link, obs.stamp)],
                                     obs.stamp)
            bag.write_observation(obs)
    source = BagSource(path)
    ingested = list(source)
    assert len(ingested) == 4
    np.testing.assert_allclose(ingested[0].T_world_camera, frames[2].T_world_camera, atol=1e-9)
    assert any("2 frame(s) skipped: no transform from map to camera_color_optical_frame" in m
               for m in source.report.messages())


def test_a_bag_is_a_source_for_the_perception_node(tmp_path, toured, label_encoder, start_service):
    from mem3d.client import MemoryClient
    from mem3d.source import open_source
    from perception.config import FrameConfig
    from perception.node import PerceptionNode
    from ros_bridge.plugin import register
    from tests.fixtures.service import ANY_LOOPBACK_PORT  # noqa: F401  (the fixture's own ports)

    frames, target = toured
    path = write_bag(bag_path(tmp_path, "mcap"), frames, "mcap")
    register()  # what the mem3d.plugins entry point does in an installed checkout
    opened = open_source(f"bag:{path}")
    service = start_service(text_encoder=label_encoder, map=None)
    with MemoryClient.of_service(service.endpoints, timeout=60) as client:
        stats = PerceptionNode(label_encoder, client, FrameConfig(n_samples=4000), name="replay").run(opened.source)
        assert stats.acknowledged == len(frames)
        result = client.localize(text=target.label)
        assert result.found and distance_to(target, result.candidates[0].centroid) < NEAR_M
    with pytest.raises(EndOfStreamError):
        opened.source.observe()
    opened.source.close()


def test_the_ingest_command_prints_its_result_and_leaves_a_store(tmp_path, toured):
    """The user's path: ``mem3d ingest bag`` with the memory service as a child process."""
    import json
    import os

    frames, _ = toured
    path = write_bag(tmp_path / "short.bag", frames[:4], "rosbag1")
    command = [sys.executable, "-m", "mem3d.apps.cli", "ingest", "bag", str(path), "--store", str(tmp_path / "store"),
               "--samples", "3000"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert (result["frames"], result["format"], result["messages"]) == (4, "rosbag1", [])
    assert result["encoder"].startswith("label-minilm") and result["topics"]["semantic"] == "/semantic_segmentation"
    assert len(open_store_readonly(tmp_path / "store").voxel_map) == result["n_voxels"] > 500
