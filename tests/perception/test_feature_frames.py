"""Observation -> FeatureFrame through both encoders, and the errors for bad input."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mem3d.errors import InvalidInputError, SchemaMismatchError
from perception import FrameConfig, StageTimer, build_feature_frame, build_feature_frames


def distance_to_box(points: np.ndarray, box) -> np.ndarray:
    """Euclidean distance (m) from each point to a solid axis-aligned box (0 inside or on it)."""
    gap = np.maximum(np.maximum(box.min_corner - points, points - box.max_corner), 0.0)
    return np.linalg.norm(gap, axis=1)


def test_label_frame_points_sit_on_the_box_of_their_label(room, room_views, label_encoder):
    obs = room_views[0]
    frame = build_feature_frame(obs, label_encoder, FrameConfig(n_samples=8000))
    frame.validate(384)
    assert frame.feature_model == "label-minilm/all-MiniLM-L6-v2"
    assert frame.n_points == 8000 and frame.features.dtype == np.float32
    assert np.all(np.bincount(frame.feature_index) > 0)  # the palette holds only rows in use
    in_view = [i for i in sorted(room.labels) if i in np.unique(obs.semantic)]
    texts = [room.labels[i] for i in in_view]
    assert frame.features.shape[0] == len(texts)
    # every palette row is the embedding of one label; its points lie on that label's boxes
    rows = np.argmax(frame.features @ label_encoder.label_features(texts).T, axis=1)
    points = frame.points.astype(np.float64)
    for row, label_row in enumerate(rows):
        concept = in_view[label_row]
        mine = points[frame.feature_index == row]
        boxes = [b for b in room.scene.boxes if b.concept == concept]
        nearest = np.min([distance_to_box(mine, b) for b in boxes], axis=0)
        assert nearest.max() < 2e-3, room.labels[concept]


def test_the_mug_query_finds_the_mug_points(room_views, label_encoder):
    frame = build_feature_frame(room_views[0], label_encoder)
    scores = frame.features @ label_encoder.encode_text(["coffee cup"])[0]
    matching = scores[frame.feature_index] >= label_encoder.info.match_threshold
    assert 0 < matching.sum() < 0.05 * frame.n_points
    mug = frame.points[matching]
    low, high = np.array([3.3, 2.3, 0.75]) - 1e-3, np.array([3.4, 2.4, 0.85]) + 1e-3
    assert np.all((mug >= low) & (mug <= high))


def test_sampling_is_reproducible_per_observation_and_differs_between_observations(room_views,
                                                                                   label_encoder):
    obs = room_views[1]
    a = build_feature_frame(obs, label_encoder)
    b = build_feature_frame(obs, label_encoder)
    c = build_feature_frame(replace(obs, obs_id=obs.obs_id + 1), label_encoder)
    assert np.array_equal(a.points, b.points) and np.array_equal(a.feature_index, b.feature_index)
    assert not np.array_equal(a.points, c.points)


def test_float16_palette_and_stage_timings(room_views, label_encoder):
    timer = StageTimer()
    frame = build_feature_frame(room_views[2], label_encoder, FrameConfig(feature_dtype="float16"),
                                timer=timer)
    frame.validate(384)
    assert frame.features.dtype == np.float16
    assert set(timer.milliseconds()) == {"validate", "encode", "sample", "unproject", "carve_depth"}


def test_open_clip_frames_are_built_in_a_batch(room_views, tiny_clip_encoder):
    frames = build_feature_frames(room_views[:2], tiny_clip_encoder, FrameConfig(n_samples=3000),
                                  feature_dim=32)
    for obs, frame in zip(room_views, frames):
        frame.validate(32)
        assert frame.obs_id == obs.obs_id and frame.n_points == 3000
        assert frame.features.shape[0] <= 192  # at most the upsampled patch grid of 128x96 input
        assert frame.feature_model.startswith("open-clip/mem3d-test-tiny-vit/file:")


def test_encoder_dimension_must_match_the_map(room_views, label_encoder):
    with pytest.raises(SchemaMismatchError, match="384-d features, but the map stores 512-d"):
        build_feature_frame(room_views[0], label_encoder, feature_dim=512)
    with pytest.raises(SchemaMismatchError, match="does not match the map's feature model"):
        label_encoder.info.require_compatible(384, "open-clip/ViT-B-32/laion2b_s34b_b79k")
    label_encoder.info.require_compatible(384, "label-minilm/all-MiniLM-L6-v2")


@pytest.mark.parametrize("field, value, message", [
    ("rgb", np.zeros((240, 320, 4), np.uint8), r"rgb must have shape \(240, 320, 3\)"),
    ("rgb", np.zeros((240, 320, 3), np.float32), "rgb must have dtype uint8"),
    ("rgb", np.zeros((120, 160, 3), np.uint8), r"rgb must have shape \(240, 320, 3\)"),
    ("depth", np.ones((240, 320), np.float64), "depth must have dtype float32"),
    ("semantic", np.ones((240, 320), np.uint8), "semantic must have dtype int32"),
])
def test_bad_images_are_rejected(room_views, label_encoder, field, value, message):
    with pytest.raises(InvalidInputError, match=message):
        build_feature_frame(replace(room_views[0], **{field: value}), label_encoder)


def test_a_view_without_features_still_carves(room_views, label_encoder):
    """No labelled pixel (or no trusted depth): a frame with no points that only carries depth."""
    obs = room_views[0]
    unlabelled = build_feature_frame(replace(obs, semantic=np.zeros_like(obs.semantic)), label_encoder)
    assert unlabelled.n_points == 0 and unlabelled.features.shape == (0, label_encoder.feature_dim)
    assert unlabelled.depth is not None and (unlabelled.depth > 0).any()
    unlabelled.validate(label_encoder.feature_dim)
    blind = build_feature_frame(replace(obs, depth=np.zeros_like(obs.depth)), label_encoder)
    assert blind.n_points == 0 and not blind.depth.any()

@pytest.mark.parametrize("factor", [1, 2, 3, 4, 8])
def test_the_keyframe_picture_is_the_rounded_block_mean(factor):
    from perception.frames import binned_rgb

    rgb = np.random.default_rng(factor).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    h, w = 50 // factor, 70 // factor
    blocks = rgb[:h * factor, :w * factor].astype(np.float64).reshape(h, factor, w, factor, 3)
    np.testing.assert_array_equal(binned_rgb(rgb, factor), np.rint(blocks.mean(axis=(1, 3))).astype(np.uint8))
