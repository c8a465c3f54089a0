"""Every malformed frame gets a clear error and leaves the map exactly as it was."""

import dataclasses

import numpy as np
import pytest

from mem3d.errors import InvalidInputError, SchemaMismatchError
from mem3d.types import FeatureFrame
from tests.helpers.synthetic_room import frame_of, observe


def snapshot(voxel_map):
    v = voxel_map.voxels()
    return {name: getattr(v, name).copy() for name in v.__dataclass_fields__} | {
        "centroids": voxel_map.codebook.centroids.copy()}


def with_nan(array, index=0):
    array = array.copy()
    array.flat[index] = np.nan
    return array


def translated(pose, x):
    pose = pose.copy()
    pose[0, 3] = x
    return pose


def non_rigid(pose, kind):
    pose = pose.copy()
    if kind == "scaled":
        pose[:3, :3] *= 1.1
    elif kind == "reflection":
        pose[:3, 0] *= -1
    elif kind == "last_row":
        pose[3, 0] = 0.5
    elif kind == "nan":
        pose[0, 3] = np.nan
    return pose


CASES = {
    "nan point": (lambda f: {"points": with_nan(f.points)}, "non-finite"),
    "inf point": (lambda f: {"points": np.where(np.arange(f.points.size).reshape(f.points.shape) == 4, np.inf,
                                                f.points).astype(np.float32)}, "non-finite"),
    "nan depth": (lambda f: {"depth": with_nan(f.depth, 7)}, "non-finite"),
    "inf depth": (lambda f: {"depth": np.full_like(f.depth, np.inf)}, "non-finite"),
    "negative depth": (lambda f: {"depth": -f.depth}, "negative"),
    "points 2-d": (lambda f: {"points": f.points[:, :2].copy()}, "shape"),
    "points float64": (lambda f: {"points": f.points.astype(np.float64)}, "dtype"),
    "colours short": (lambda f: {"colors": f.colors[:-1]}, "shape"),
    "colours float": (lambda f: {"colors": f.colors.astype(np.float32)}, "dtype"),
    "features 1-d": (lambda f: {"features": f.features[0]}, "shape"),
    "features not unit": (lambda f: {"features": f.features * 3}, "L2-normalised"),
    "features nan": (lambda f: {"features": with_nan(f.features)}, "non-finite"),
    "index out of range": (lambda f: {"feature_index": f.feature_index + 100}, "feature_index"),
    "index short": (lambda f: {"feature_index": f.feature_index[:-1]}, "shape"),
    "depth wrong shape": (lambda f: {"depth": f.depth[:-1]}, "shape"),
    "depth float64": (lambda f: {"depth": f.depth.astype(np.float64)}, "dtype"),
    "depth without intrinsics": (lambda f: {"intrinsics": None}, "intrinsics"),
    "scaled pose": (lambda f: {"T_world_camera": non_rigid(f.T_world_camera, "scaled")}, "orthonormal"),
    "reflected pose": (lambda f: {"T_world_camera": non_rigid(f.T_world_camera, "reflection")}, "reflection"),
    "pose last row": (lambda f: {"T_world_camera": non_rigid(f.T_world_camera, "last_row")}, "last row"),
    "pose nan": (lambda f: {"T_world_camera": non_rigid(f.T_world_camera, "nan")}, "non-finite"),
    "pose 3x4": (lambda f: {"T_world_camera": f.T_world_camera[:3]}, "shape"),
    "pose float32": (lambda f: {"T_world_camera": f.T_world_camera.astype(np.float32)}, "float64"),
    "camera beyond the range": (lambda f: {"T_world_camera": translated(f.T_world_camera, 1e30)}, "range"),
    "camera just beyond the range": (lambda f: {"T_world_camera": translated(f.T_world_camera, 2**20 * 0.05)},
                                     "range"),
    "stamp nan": (lambda f: {"stamp": float("nan")}, "stamp"),
    "stamp missing": (lambda f: {"stamp": None}, "stamp must be a number"),
    "stamp text": (lambda f: {"stamp": "12:00"}, "stamp must be a number"),
    "obs_id missing": (lambda f: {"obs_id": None}, "obs_id must be an integer"),
    "obs_id text": (lambda f: {"obs_id": "7"}, "obs_id must be an integer"),
    "obs_id fractional": (lambda f: {"obs_id": 2.5}, "obs_id must be an integer"),
    "obs_id bool": (lambda f: {"obs_id": True}, "obs_id must be an integer"),
    "obs_id negative": (lambda f: {"obs_id": -1}, "obs_id must lie in"),
    "obs_id beyond int64": (lambda f: {"obs_id": 2**63}, "obs_id must lie in"),
    "intrinsics not intrinsics": (lambda f: {"intrinsics": (500.0, 500.0, 320.0, 240.0)}, "CameraIntrinsics"),
    "feature model not text": (lambda f: {"feature_model": None}, "feature_model"),
    "empty frame": (lambda f: {"points": np.empty((0, 3), np.float32), "colors": np.empty((0, 3), np.uint8),
                               "feature_index": np.empty(0, np.int32), "depth": None}, "no points"),
    "far away points": (lambda f: {"points": f.points + np.float32(1e6)}, "range"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_frame_is_refused_and_map_unchanged(new_map, scene, concepts, camera, case):
    observe(new_map, scene, concepts, camera, range(2))
    before = snapshot(new_map)
    good = frame_of(scene, concepts, camera, 2)
    change, message = CASES[case]
    bad = dataclasses.replace(good, **change(good))
    with pytest.raises(InvalidInputError, match=message):
        new_map.update(bad)
    after = snapshot(new_map)
    for name, value in before.items():
        assert np.array_equal(value, after[name]), name
    new_map.update(good)  # and the map still works


def test_features_of_another_dimension_are_a_schema_mismatch(new_map, scene, concepts, camera):
    good = frame_of(scene, concepts, camera, 0)
    frame = dataclasses.replace(good, features=np.eye(good.features.shape[0], 16, dtype=np.float32))
    with pytest.raises(SchemaMismatchError, match="dimension 16"):
        new_map.update(frame)
    assert len(new_map) == 0


def test_frame_from_another_feature_model_is_refused(new_map, scene, concepts, camera):
    frame = dataclasses.replace(frame_of(scene, concepts, camera, 0), feature_model="ViT-B-32")
    with pytest.raises(SchemaMismatchError, match="ViT-B-32"):
        new_map.update(frame)
    assert len(new_map) == 0


def test_not_a_frame_is_refused(new_map):
    with pytest.raises(InvalidInputError, match="FeatureFrame"):
        new_map.update({"points": []})


def test_carve_validates_its_inputs(new_map, scene, concepts, camera):
    observe(new_map, scene, concepts, camera, range(1))
    frame = frame_of(scene, concepts, camera, 1)
    before = snapshot(new_map)
    for depth, pose in [(with_nan(frame.depth), frame.T_world_camera), (frame.depth[1:], frame.T_world_camera),
                        (frame.depth, non_rigid(frame.T_world_camera, "scaled"))]:
        with pytest.raises(InvalidInputError):
            new_map.carve(depth, frame.intrinsics, pose)
    assert all(np.array_equal(v, snapshot(new_map)[k]) for k, v in before.items())


def test_feature_frame_type_is_documented_and_validated_standalone():
    frame = FeatureFrame(np.zeros((1, 3), np.float32), np.zeros((1, 3), np.uint8), np.eye(1, 4, dtype=np.float32),
                         np.zeros(1, np.int32), np.eye(4), 0.0, 0)
    assert frame.validate(4) is frame and frame.n_points == 1 and frame.feature_dim == 4
