"""An object from outside the catalogue, through the real pipeline: a 5 cm OBJ brick with a description,
rendered by the simulator, embedded by MiniLM with its description, fused into a map and queried by
paraphrase, by a compound whose head names nothing there, and by a wrong colour."""

import numpy as np
import pytest

from bench.eval_queries import shape_polygons
from mem3d.query.terms import query_terms
from mem3d.voxel_map import MapConfig, VoxelMap
from perception.frames import build_feature_frame
from sim.agent import AgentState
from sim.apartment import generate_apartment
from sim.config import CameraConfig, SimConfig
from sim.dynamics import add_object, spot_on_support
from sim.embedded import EmbeddedSimSource
from sim.mesh_io import mesh_object
from sim.obj import write_obj
from sim.scene import pose_from_xyz_yaw
from tests.helpers.sim_views import best_view


@pytest.fixture(scope="module")
def brick_map(tmp_path_factory, label_encoder):
    """A map of a few views of a red 5 cm toy brick ("lego block") on a furniture top of apartment 0."""
    scene = generate_apartment(0)
    path = write_obj(tmp_path_factory.mktemp("brick") / "brick.obj", *shape_polygons("box", (0.05, 0.05, 0.05))[:2],
                     color=(200, 40, 40))
    rng = np.random.default_rng(3)
    support = next(o for o in scene.labelled_objects() if o.label.endswith("dining table"))
    xy = spot_on_support(scene, support, 0.04, rng)
    brick = mesh_object(path, "toy brick", pose_from_xyz_yaw(xy[0], xy[1], support.top_z()),
                        scene.next_instance_id(), description="lego block")
    add_object(scene, brick)
    source = EmbeddedSimSource(scene, SimConfig(camera=CameraConfig(width=320, height=240)))
    source.reset(0)
    view = best_view(source, brick.instance_id)
    assert view is not None
    voxel_map = VoxelMap(MapConfig(feature_dim=label_encoder.feature_dim, feature_model=label_encoder.info.model_id))
    pixels = []
    for turn in (-0.15, 0.0, 0.15, 0.0):  # four glances at it, stamps apart
        source.set_state(AgentState(view.x, view.y, view.yaw + turn, view.tilt))
        obs = source.observe()
        pixels.append(int((obs.instance == brick.instance_id).sum()))
        voxel_map.update(build_feature_frame(obs, label_encoder))
    source.close()
    return voxel_map, brick, pixels


def ask(voxel_map, encoder, text: str):
    return voxel_map.localize(encoder.encode_text([text])[0], threshold=encoder.info.match_threshold,
                              terms=query_terms(encoder, text))


def near(candidate, obj, margin: float = 0.1) -> bool:
    lo, hi = obj.world_bounds()
    point = np.asarray(candidate.centroid)
    return bool(np.all(point >= lo - margin) and np.all(point <= hi + margin))


def test_the_description_is_embedded_with_the_label(brick_map, label_encoder):
    assert "toy brick (lego block)" in label_encoder.cached_labels


@pytest.mark.parametrize("text", ["toy brick", "lego piece", "red toy brick"])
def test_a_small_outside_object_is_found_by_label_paraphrase_and_right_colour(brick_map, label_encoder, text):
    voxel_map, brick, pixels = brick_map
    assert max(pixels) > 10
    result = ask(voxel_map, label_encoder, text)
    assert result.found and near(result.candidates[0], brick), (text, result)


@pytest.mark.parametrize("text", ["blue toy brick", "lego instructions"])
def test_a_wrong_colour_or_a_compound_head_is_not_found(brick_map, label_encoder, text):
    voxel_map, brick, _ = brick_map
    embedding = label_encoder.encode_text([text])[0]
    by_embedding_alone = voxel_map.localize(embedding, threshold=label_encoder.info.match_threshold)
    assert by_embedding_alone.found and near(by_embedding_alone.candidates[0], brick)  # the trap is real
    result = ask(voxel_map, label_encoder, text)
    assert not any(near(c, brick) for c in result.candidates), text
