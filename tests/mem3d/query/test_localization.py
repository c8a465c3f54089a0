"""Localization: the right box is found, ranked, with evidence; unrelated queries are "not found"."""

import numpy as np
import pytest

from mem3d.errors import InvalidInputError, SchemaMismatchError
from tests.helpers.synthetic_room import BOOK, MUG, UNRELATED, box_contains, observe, room_boxes


@pytest.fixture
def observed(new_map, scene, concepts, camera):
    observe(new_map, scene, concepts, camera, range(3))
    return new_map


@pytest.mark.parametrize("concept", [MUG, BOOK])
def test_finds_the_box_whose_feature_matches(observed, concepts, concept):
    result = observed.localize(concepts[concept], top_k=5)
    assert result.found
    best = result.candidates[0]
    box = room_boxes()[concept]
    assert box_contains(box, np.array([best.centroid]), margin=0.05).all()
    assert np.all(np.array(best.bbox_min) <= box.max_corner) and np.all(np.array(best.bbox_max) >= box.min_corner)
    assert best.score > 0.95 and best.n_voxels >= 10
    assert best.last_seen == 12.0 and best.obs_id == 2 and best.first_seen == 10.0


def test_unrelated_embedding_is_not_found(observed, concepts):
    result = observed.localize(concepts[UNRELATED])
    assert not result.found and result.candidates == () and result.n_matching_voxels == 0


def test_noisy_query_still_finds_the_box_and_candidates_are_ranked(observed, concepts):
    rng = np.random.default_rng(5)
    query = concepts[MUG] + 0.3 * rng.standard_normal(concepts.shape[1]).astype(np.float32) / np.sqrt(
        concepts.shape[1])
    result = observed.localize(query, top_k=3, threshold=0.2)
    assert result.found
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True)
    assert box_contains(room_boxes()[MUG], np.array([result.candidates[0].centroid]), margin=0.05).all()


def test_two_instances_give_two_candidates(new_map, concepts, camera):
    from mem3d.synthetic import BoxScene
    boxes = room_boxes()
    twin = boxes[MUG].moved_to((1.5, 1.0, 0.25))
    observe(new_map, BoxScene(boxes + [twin]), concepts, camera, range(3))
    result = new_map.localize(concepts[MUG], top_k=5)
    assert len(result.candidates) == 2
    centroids = np.array([c.centroid for c in result.candidates])
    assert box_contains(boxes[MUG], centroids, 0.05).sum() == 1 and box_contains(twin, centroids, 0.05).sum() == 1
    assert len(new_map.localize(concepts[MUG], top_k=1).candidates) == 1


def test_bad_queries_are_refused(observed, concepts):
    with pytest.raises(SchemaMismatchError, match="dimension 5"):
        observed.localize(concepts[MUG][:5])
    for query, message in [(concepts[MUG][None], "vector"), (np.zeros(concepts.shape[1]), "zero"),
                           (np.full(concepts.shape[1], np.nan), "finite"),
                           (concepts[MUG].astype(np.int64), "floating")]:
        with pytest.raises(InvalidInputError, match=message):
            observed.localize(query)
    with pytest.raises(InvalidInputError, match="top_k"):
        observed.localize(concepts[MUG], top_k=0)
    with pytest.raises(InvalidInputError, match="threshold"):
        observed.localize(concepts[MUG], threshold=2.0)


def test_empty_map_answers_not_found(new_map, concepts):
    assert not new_map.localize(concepts[MUG]).found


def test_matches_are_exactly_the_voxels_over_their_thresholds(observed, concepts):
    """The lower threshold of the query's favourite centroid is looked for among its voxels only: the
    matches are those scoring the threshold, and the favourite's voxels scoring its lower one."""
    from mem3d.query.localization import check_query, matching_voxels

    store, codebook = observed.grid.store, observed.codebook
    n = store.n
    query = check_query(concepts[MUG] + concepts[BOOK], concepts.shape[1])  # the mug and the book alike
    every = np.clip((store.feature[:n].astype(np.float32) @ query) * store.feature_scale[:n], -1, 1)
    favourite = int(np.argmax(codebook.centroids @ check_query(concepts[MUG], concepts.shape[1])))
    mug = float(np.median(every[store.code[:n] == favourite]))
    threshold, lower = mug + 0.05, mug - 0.05
    between = (every >= lower) & (every < threshold)
    assert (between & (store.code[:n] == favourite)).any()  # the mug's voxels match only at the lower one,
    assert (between & (store.code[:n] != favourite)).any()  # the book's not
    for high, low in [(threshold, lower), (0.5, 0.35), (threshold, 0.99)]:
        slots, scores = matching_voxels(store, codebook, query, high, favourite, low)
        wanted = (every >= high) | ((store.code[:n] == favourite) & (every >= low))
        assert np.array_equal(slots, np.flatnonzero(wanted))
        np.testing.assert_allclose(scores, every[slots], atol=1e-5)


def test_the_box_test_finds_the_rows_a_test_of_every_row_finds():
    from mem3d.query.localization import _float32_within, _inside_box

    rng = np.random.default_rng(3)
    positions = rng.uniform(-2.0, 2.0, (20_000, 3)).astype(np.float32)
    for _ in range(200):
        lo = rng.uniform(-2.0, 1.5, 3)
        hi = lo + rng.uniform(0.0, 0.6, 3)
        if rng.random() < 0.5:  # bounds exactly on positions, and just beside them
            lo = positions[rng.integers(positions.shape[0])].astype(np.float64) - rng.choice([0.0, 1e-9, -1e-9])
            hi = np.maximum(hi, lo)
        every = np.flatnonzero(np.all((positions >= lo) & (positions <= hi), axis=1))
        assert np.array_equal(_inside_box(positions, lo, hi), every)
    low, high = _float32_within(0.1, 0.1)  # 0.1 is no float32: nothing lies in [0.1, 0.1]
    assert low > high and float(low) > 0.1 > float(high)
