"""SIGKILL the service in the middle of a stream of ingests: no acknowledged frame is lost."""

import numpy as np
import pytest

from mem3d.geometry import look_at
from mem3d.io.checkpoint import load_map
from mem3d.voxel_map import MapConfig, VoxelMap
from tests.helpers.synthetic_room import DIM, MUG, frame_of, ingest_then_kill, serve_process


@pytest.mark.slow
def test_every_acknowledged_frame_survives_sigkill(tmp_path, scene, concepts, camera):
    poses = [look_at((-1.0 + 0.05 * i, -1.5 + 0.1 * i, 1.2), (3.0, 0.0, 0.4)) for i in range(30)]
    frames = [frame_of(scene, concepts, camera, i, T_world_camera=poses[i]) for i in range(30)]
    store = tmp_path / "store"
    service = serve_process(store, "--checkpoint-every-frames", "8")
    acked = ingest_then_kill(service, frames, 17)  # past two checkpoints, in the middle of the stream
    assert 17 <= len(acked) < len(frames)

    service = serve_process(store)
    try:
        with service.client() as client:
            applied = client.stats().log_seq
            assert applied >= len(acked)  # fsynced before the kill: maybe one more than acked
            reference = VoxelMap(MapConfig(feature_dim=DIM, feature_model="synthetic"))
            for frame in frames[:applied]:
                reference.update(frame)
            for concept in range(concepts.shape[0]):
                assert client.localize(embedding=concepts[concept]) == reference.localize(concepts[concept])
            client.shutdown()
        service.wait(timeout=30)
    finally:
        service.kill()
    restored = load_map(store).voxels()
    expected = reference.voxels()
    for name in expected.__dataclass_fields__:
        assert np.array_equal(getattr(restored, name), getattr(expected, name)), name
    assert reference.localize(concepts[MUG]).found
