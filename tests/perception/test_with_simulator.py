"""Perception on the real embedded simulator: points land on the rendered surfaces, and a frame
integrated into a map lets a text query find the right object."""

import numpy as np
import pytest

from mem3d.voxel_map import MapConfig, VoxelMap
from perception.config import FrameConfig
from perception.frames import build_feature_frame
from sim.config import CameraConfig, SimConfig
from sim.embedded import EmbeddedSimSource
from sim.tour import room_tour


@pytest.fixture(scope="module")
def source():
    sim = EmbeddedSimSource(config=SimConfig(camera=CameraConfig(width=320, height=240)))
    sim.reset(0)
    yield sim
    sim.close()


def distance_to_scene(source, points: np.ndarray) -> np.ndarray:
    """Distance of each point to the nearest triangle of the scene, by open3d."""
    import open3d as o3d

    raycaster = o3d.t.geometry.RaycastingScene()
    for obj in source.scene.objects.values():
        mesh = obj.world_mesh()
        raycaster.add_triangles(o3d.core.Tensor(mesh.vertices.astype(np.float32)),
                                o3d.core.Tensor(mesh.triangles.astype(np.uint32)))
    return raycaster.compute_distance(o3d.core.Tensor(points.astype(np.float32))).numpy()


def test_unprojected_points_lie_on_the_rendered_surfaces(source, label_encoder):
    frame = build_feature_frame(source.observe(), label_encoder, FrameConfig(n_samples=5000))
    assert frame.n_points > 3000
    distance = distance_to_scene(source, frame.points)
    assert np.percentile(distance, 99) < 1e-3 and distance.max() < 0.05  # within a voxel, all of them


@pytest.fixture(scope="module")
def toured_map(source, label_encoder):
    """A map of the first 100 tour steps (the first rooms, the sofa included) and the pixels seen of
    each instance."""
    voxel_map = VoxelMap(MapConfig(feature_dim=label_encoder.feature_dim, feature_model=label_encoder.info.model_id))
    seen: dict[int, int] = {}
    for action in list(room_tour(source))[:100]:
        source.act(action)
        obs = source.observe()
        for instance, pixels in source.truth.visible_instances(obs).items():
            seen[instance] = seen.get(instance, 0) + pixels
        voxel_map.update(build_feature_frame(obs, label_encoder, FrameConfig(n_samples=5000)))
    return voxel_map, seen


def best_candidate_distance(source, voxel_map, label_encoder, query: str, label: str) -> float:
    """Metres from the best candidate for ``query`` to the nearest box of an object labelled ``label``."""
    result = voxel_map.localize(label_encoder.encode_text([query])[0], threshold=label_encoder.info.match_threshold)
    assert result.found, query
    centroid = np.asarray(result.candidates[0].centroid)
    return min(float(np.linalg.norm(np.maximum(np.maximum(t.bbox_min - centroid, centroid - t.bbox_max), 0)))
               for t in source.truth.objects() if t.label == label)


def test_a_text_query_finds_the_object_in_a_map_built_from_the_simulator(source, label_encoder, toured_map):
    voxel_map, seen = toured_map
    truths = {t.instance_id: t for t in source.truth.objects()}
    target = max((truths[i] for i in seen if i in truths and truths[i].label not in ("wall", "floor")),
                 key=lambda t: seen[t.instance_id])
    assert best_candidate_distance(source, voxel_map, label_encoder, target.label, target.label) < 0.3
    absent = voxel_map.localize(label_encoder.encode_text(["motorcycle"])[0],
                                threshold=label_encoder.info.match_threshold)
    assert not absent.found


@pytest.mark.parametrize("query, label", [("couch", "sofa"), ("garbage can", "trash can")])
def test_a_paraphrase_finds_the_object(source, label_encoder, toured_map, query, label):
    voxel_map, seen = toured_map
    assert any(t.label == label and t.instance_id in seen for t in source.truth.objects())  # it was in view
    assert best_candidate_distance(source, voxel_map, label_encoder, query, label) < 0.3
