"""End to end over real sockets: simulator -> perception -> memory service -> localize -> save ->
restart -> localize again, with the real MiniLM label encoder and ground truth from the simulator."""

import json
import subprocess

import numpy as np
import pytest

from mem3d.apps.service_process import mem3d_executable, start_service_process
from mem3d.encoder import create_encoder
from perception.config import FrameConfig
from perception.node import PerceptionNode
from planners.object_search import search
from sim.config import CameraConfig, SimConfig
from sim.embedded import EmbeddedSimSource
from sim.tour import room_tour

MEM3D = mem3d_executable()


def serve(store):
    return start_service_process(store, encoder="label-minilm")


class Watching:
    """A ``Source`` wrapper that also notes, from ground truth, which objects each view showed."""

    def __init__(self, source: EmbeddedSimSource) -> None:
        self.source, self.pixels = source, {}

    def _note(self, obs):
        for instance, count in self.source.truth.visible_instances(obs).items():
            self.pixels[instance] = self.pixels.get(instance, 0) + count
        return obs

    def reset(self, seed=None):
        return self._note(self.source.reset(seed))

    def observe(self):
        return self._note(self.source.observe())

    def act(self, action):
        return self.source.act(action)

    def close(self):
        self.source.close()


def distance_to(truth, point) -> float:
    return float(np.linalg.norm(np.maximum(np.maximum(truth.bbox_min - point, np.asarray(point) - truth.bbox_max),
                                           0.0)))


@pytest.mark.slow
def test_sim_perception_service_localize_save_restart(tmp_path):
    store = tmp_path / "store"
    source = EmbeddedSimSource(config=SimConfig(camera=CameraConfig(width=160, height=120)))
    encoder = create_encoder("label-minilm")
    try:
        with serve(store) as service, service.client(timeout=60) as client:
            node = PerceptionNode(encoder, client, FrameConfig(n_samples=3000), name="e2e")
            watching = Watching(source)
            stats = node.run(watching, room_tour(source, step_m=1.5), max_frames=80)
            seen = watching.pixels
            assert stats.acknowledged == stats.sent == stats.observed and not stats.refused
            truths = {t.instance_id: t for t in source.truth.objects()}
            well_seen = [truths[i] for i, px in sorted(seen.items(), key=lambda kv: -kv[1])
                         if i in truths and truths[i].label not in ("wall", "floor", "ceiling")][:3]
            assert well_seen, "the tour saw no object"
            answers = {}
            for truth in well_seen:
                decision = search(client, truth.label)
                assert decision.found, truth.label
                assert min(distance_to(t, decision.target.centroid) for t in truths.values()
                           if t.label == truth.label) < 0.5
                answers[truth.label] = decision.target
            assert not search(client, "motorcycle").found
            assert client.save().checkpoint.startswith("ckpt-")
            client.shutdown()
            assert service.wait(timeout=60) == 0
        with serve(store) as service, service.client(timeout=60) as client:
            for label, target in answers.items():
                assert search(client, label).target == target  # the same answer after a restart
            client.shutdown()
            assert service.wait(timeout=60) == 0
    finally:
        source.close()


@pytest.mark.slow
def test_offline_map_query_reads_the_saved_store(tmp_path):
    """``mem3d map query`` answers from a store written by the service, with the map's own encoder."""
    store = tmp_path / "store"
    source = EmbeddedSimSource(config=SimConfig(camera=CameraConfig(width=160, height=120)))
    with serve(store) as service, service.client(timeout=60) as client:
        node = PerceptionNode(create_encoder("label-minilm"), client, FrameConfig(n_samples=3000))
        node.run(source, room_tour(source, step_m=1.5), max_frames=20)
        client.shutdown()
        service.wait(timeout=60)
    info = json.loads(subprocess.run([MEM3D, "map", "info", str(store)], capture_output=True, text=True,
                                     check=True).stdout)
    assert info["n_voxels"] > 1000 and info["feature_model"] == "label-minilm/all-MiniLM-L6-v2"
    answer = json.loads(subprocess.run([MEM3D, "map", "query", str(store), "wall"], capture_output=True,
                                       text=True, check=True).stdout)
    assert answer["found"] and answer["candidates"][0]["n_voxels"] > 10
