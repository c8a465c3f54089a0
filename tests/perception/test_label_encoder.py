"""The ground-truth label path with the real all-MiniLM-L6-v2 weights."""

from __future__ import annotations

import numpy as np
import pytest

from mem3d.errors import InvalidInputError, NotAvailableError
from mem3d.types import CameraIntrinsics, Observation
from perception.calibration import DESCRIPTIONS, calibrate
from perception.encoders.label_embedding import CALIBRATED_THRESHOLDS, described
from sim import catalogue
from sim.config import SimConfig
from sim.embedded import EmbeddedSimSource

HOUSEHOLD_LABELS = ["mug", "bowl", "bottle", "wine glass", "plate", "kettle", "sofa", "chair", "table",
                    "bed", "television", "lamp", "potted plant", "refrigerator", "sink", "toilet",
                    "book", "laptop", "door", "window", "cabinet", "microwave", "oven", "pillow",
                    "vase", "clock", "wall", "floor"]


def labelled_observation(semantic: np.ndarray, labels: dict[int, str],
                         descriptions: dict[int, str] | None = None) -> Observation:
    h, w = semantic.shape
    return Observation(rgb=np.zeros((h, w, 3), np.uint8), depth=np.ones((h, w), np.float32),
                       intrinsics=CameraIntrinsics.from_fov(w, h, 60.0), T_world_camera=np.eye(4),
                       stamp=0.0, obs_id=0, semantic=semantic.astype(np.int32), labels=labels,
                       descriptions=descriptions or {})


@pytest.fixture(scope="module")
def apartment_texts() -> dict[str, str]:
    """Every category of the simulator's default apartment (seed 0) -> the text the label path embeds
    for it ("white mug (cup)"), as its observations carry them."""
    source = EmbeddedSimSource(config=SimConfig())
    names, descriptions = source.scene.label_of_semantic(), source.scene.description_of_semantic()
    assert {t.label for t in source.truth.objects()} <= set(names.values())
    return {names[i]: described(names[i], descriptions.get(i)) for i in names}


def ranking(label_encoder, texts: dict[str, str], query: str) -> list[tuple[str, float]]:
    """Labels by decreasing cosine of their embedded texts with ``query``."""
    scores = label_encoder.label_features(list(texts.values())) @ label_encoder.encode_text([query])[0]
    return [(label, float(score)) for score, label in sorted(zip(scores, texts), reverse=True)]


def test_coffee_cup_ranks_the_mug_first_among_the_apartment_labels(label_encoder, apartment_texts):
    assert apartment_texts["white mug"] == "white mug (cup)"
    (best, score), (_, runner_up) = ranking(label_encoder, apartment_texts, "coffee cup")[:2]
    assert best == "white mug" and score >= label_encoder.info.match_threshold
    assert runner_up < label_encoder.info.match_threshold  # the toothbrush cup and coffee table do not match


@pytest.mark.parametrize("query, label", [("couch", "sofa"), ("mug", "white mug"), ("low table", "coffee table"),
                                          ("fridge", "refrigerator"), ("garbage bin", "trash can"),
                                          ("bedside table", "nightstand")])
def test_paraphrases_find_their_category_in_the_apartment(label_encoder, apartment_texts, query, label):
    best, score = ranking(label_encoder, apartment_texts, query)[0]
    assert best == label and score >= label_encoder.info.match_threshold


def test_an_exact_label_prefers_its_own_colour(label_encoder):
    labels = sorted({spec.label(color) for spec in catalogue.CATALOGUE.values() for color in spec.colors})
    texts = {label: described(label, catalogue.description_of(label)) for label in labels}
    assert {"red mug", "blue mug", "white mug", "green bottle", "blue bottle"} <= set(texts)
    scores = label_encoder.encode_text(labels) @ label_encoder.label_features(list(texts.values())).T
    assert [labels[i] for i in scores.argmax(axis=1)] == labels


def test_coffee_cup_ranks_a_bare_mug_label_first(label_encoder):
    """Labels without descriptions (other sources): a bare "mug" among household labels."""
    scores = label_encoder.label_features(HOUSEHOLD_LABELS) @ label_encoder.encode_text(["coffee cup"])[0]
    assert HOUSEHOLD_LABELS[int(np.argmax(scores))] == "mug"
    assert scores.max() >= label_encoder.info.match_threshold
    assert np.sort(scores)[-2] < label_encoder.info.match_threshold  # the runner-up does not match


@pytest.mark.parametrize("query, label", [("couch", "sofa"), ("fridge", "refrigerator"),
                                          ("tv", "television"), ("houseplant", "potted plant")])
def test_synonyms_rank_their_label_first(label_encoder, query, label):
    scores = label_encoder.label_features(HOUSEHOLD_LABELS) @ label_encoder.encode_text([query])[0]
    assert HOUSEHOLD_LABELS[int(np.argmax(scores))] == label


def test_text_features_are_unit_384_d_and_deterministic(label_encoder):
    a = label_encoder.encode_text(["red mug", "sofa"])
    assert a.shape == (2, 384) == (2, label_encoder.feature_dim) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(a, label_encoder.encode_text(["red mug", "sofa"]))
    assert label_encoder.info.model_id == "label-minilm/all-MiniLM-L6-v2"


def test_dense_palette_holds_the_labels_in_view_and_unlabelled_pixels_get_none(label_encoder):
    semantic = np.zeros((6, 8), np.int32)
    semantic[1:3, 1:4] = 7
    semantic[4:, 5:] = 3
    labels = {3: "sofa", 7: " mug ", 9: "not in view"}
    dense = label_encoder.encode_dense(labelled_observation(semantic, labels))
    dense.validate(6, 8)
    assert dense.palette.shape == (2, 384)
    assert np.allclose(dense.palette, label_encoder.encode_text(["sofa", "mug"]), atol=1e-6)
    assert np.array_equal(dense.index_map, np.select([semantic == 3, semantic == 7], [0, 1], -1))
    assert {"sofa", "mug"} <= set(label_encoder.cached_labels)
    assert "not in view" not in label_encoder.cached_labels


def test_descriptions_are_embedded_with_their_labels(label_encoder):
    semantic = np.array([[3, 7], [0, 9]], np.int32)
    obs = labelled_observation(semantic, {3: "sofa", 7: "red mug", 9: "lamp"}, {3: "couch", 7: " cup ", 9: " "})
    dense = label_encoder.encode_dense(obs)
    texts = ["sofa (couch)", "red mug (cup)", "lamp"]
    assert np.allclose(dense.palette, label_encoder.encode_text(texts), atol=1e-6)
    assert set(texts) <= set(label_encoder.cached_labels)


def test_each_label_is_embedded_once(label_encoder):
    before = label_encoder.cached_labels
    first = label_encoder.label_features(["bookshelf", "bookshelf", "lamp"])
    again = label_encoder.label_features(["lamp", "bookshelf"])
    assert np.array_equal(first[0], first[1]) and np.array_equal(first[2], again[0])
    added = [t for t in label_encoder.cached_labels if t not in before]
    assert sorted(added) == sorted({"bookshelf", "lamp"} - set(before))


def test_large_semantic_ids_are_indexed_too(label_encoder):
    semantic = np.array([[0, 5_000_000], [12, 5_000_000]], np.int32)
    dense = label_encoder.encode_dense(labelled_observation(semantic, {12: "chair", 5_000_000: "table"}))
    assert np.array_equal(dense.index_map, [[-1, 1], [0, 1]])
    assert np.allclose(dense.palette, label_encoder.encode_text(["chair", "table"]), atol=1e-6)


@pytest.mark.parametrize("labels, message", [({3: "sofa"}, r"semantic ids \[7\]"),
                                             ({3: "sofa", 7: "  "}, r"semantic ids \[7\]"),
                                             ({3: "sofa", 7: None}, r"semantic ids \[7\]")])
def test_labels_without_text_are_rejected(label_encoder, labels, message):
    semantic = np.array([[3, 7], [0, 3]], np.int32)
    with pytest.raises(InvalidInputError, match=message):
        label_encoder.encode_dense(labelled_observation(semantic, labels))


def test_bad_semantic_input_is_rejected(label_encoder):
    obs = labelled_observation(np.array([[1, -2]]), {1: "sofa"})
    with pytest.raises(InvalidInputError, match=">= 0"):
        label_encoder.encode_dense(obs)
    obs.semantic = None
    with pytest.raises(InvalidInputError, match="needs Observation.semantic"):
        label_encoder.encode_dense(obs)
    obs.semantic = np.zeros((1, 2), np.int64)
    with pytest.raises(InvalidInputError, match="semantic must have dtype int32"):
        label_encoder.encode_dense(obs)


def test_text_input_is_checked_and_no_image_model_is_pretended(label_encoder):
    for bad in ("mug", [], ["mug", ""]):
        with pytest.raises(InvalidInputError):
            label_encoder.encode_text(bad)
    with pytest.raises(NotAvailableError):
        label_encoder.encode_image_global([np.zeros((4, 4, 3), np.uint8)])


def test_calibrated_threshold_is_reproduced(label_encoder):
    result = calibrate(label_encoder)
    constant = CALIBRATED_THRESHOLDS["all-MiniLM-L6-v2"]
    assert label_encoder.info.match_threshold == constant
    assert abs(result.threshold - constant) < 0.02
    tpr, fpr = result.rates(constant)
    assert tpr >= 0.75 and fpr <= 0.05
    assert result.summary()["pairwise_false_positive_rate"] < 0.01
    described_labels = calibrate(label_encoder, descriptions=DESCRIPTIONS)  # the simulator's kind of label
    assert abs(described_labels.threshold - constant) < 0.05
    tpr, fpr = described_labels.rates(constant)
    assert tpr >= 0.75 and fpr <= 0.05
