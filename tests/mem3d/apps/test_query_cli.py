"""``mem3d query``: tables and JSON that agree, several queries from one load, the top-down picture
whose heatmap peaks on the best candidate, and one-line errors that leave nothing behind."""

import json
import re

import cv2
import numpy as np
import pytest

from mem3d.apps.offline import open_view, text_encoder_for
from mem3d.apps.query_cli import answer, query_picture
from tests.helpers.cli import assert_one_line_error, run_cli, tree

pytestmark = pytest.mark.edge

ROW = re.compile(r"^\s+(\d+)\s+([\d.]+)\s+(-?[\d.]+),\s+(-?[\d.]+),\s+(-?[\d.]+)\s+([\d.]+) × ([\d.]+) × ([\d.]+)"
                 r"\s+(\d+)\s+(place \d+|-)\s+([\d.]+) s\s+(?:obs|keyframe) (\d+)$")


def test_the_table_and_the_json_give_the_same_answers(sim_store, capsys):
    store, _ = sim_store
    texts = ["bed", "bathtub", "piano"]
    status, table, _ = run_cli(capsys, "query", str(store), *texts)
    assert status == 0
    status, out, _ = run_cli(capsys, "query", str(store), *texts, "--json")
    assert status == 0
    reply = json.loads(out)
    answers = reply["answers"]
    assert [a["text"] for a in answers] == texts
    assert answers[0]["found"] and not answers[2]["found"]  # no piano in the apartment
    assert len(reply["timing"]["queries_s"]) == 3  # one open, one encoder load, three answers
    blocks = table.strip().split("\n\n")
    assert len(blocks) == 3 and "not found" in blocks[2] and '"piano"' in blocks[2]
    for block, expected in zip(blocks, answers):
        rows = [ROW.match(line) for line in block.splitlines()[2:]]
        assert all(rows) and len(rows) == len(expected["candidates"])
        for row, candidate in zip(rows, expected["candidates"]):
            assert int(row[1]) == candidate["rank"]
            assert float(row[2]) == pytest.approx(candidate["score"], abs=0.006)
            assert [float(v) for v in row.groups()[2:5]] == pytest.approx(candidate["position"], abs=0.006)
            assert [float(v) for v in row.groups()[5:8]] == pytest.approx(candidate["extent"], abs=0.006)
            assert int(row[9]) == candidate["n_voxels"]
            assert int(row[12]) == (candidate["obs_id"] if candidate["keyframe"] is None else candidate["keyframe"])
            assert row[10] == candidate["place"] and candidate["place"].startswith("place ")  # episodic places
            assert float(row[11]) == pytest.approx(candidate["last_seen"], abs=0.06)


def test_the_bed_is_found_where_the_simulator_put_it(sim_store):
    store, source = sim_store
    view = open_view(store)
    config = view.voxel_map.config
    reply, _, _ = answer(view, text_encoder_for(config.feature_model, config.feature_dim), "bed", 3, None)
    bed = next(t for t in source.truth.objects() if t.label == "bed")  # ground truth, for scoring only
    best = np.asarray(reply.candidates[0].position)
    assert np.all(best >= bed.bbox_min - 0.1) and np.all(best <= bed.bbox_max + 0.1)


def test_the_heatmap_peaks_at_the_best_candidate_and_the_png_is_written(sim_store, tmp_path, capsys):
    store, _ = sim_store
    view = open_view(store)
    config = view.voxel_map.config
    encoder = text_encoder_for(config.feature_model, config.feature_dim)
    _, result, embedding = answer(view, encoder, "bed", 5, None)
    picture = query_picture(view, "bed", result, embedding)
    peak_row, peak_col = np.unravel_index(np.nanargmax(picture.heat), picture.heat.shape)
    best = result.candidates[0]
    rows, cols = picture.grid.cells(np.array([best.bbox_max[:2], best.bbox_min[:2]]))  # north-west first
    assert rows[0] <= peak_row <= rows[1] and cols[1] <= peak_col <= cols[0]  # the peak is in the best box
    assert np.nanmax(picture.heat) >= best.score  # the best voxel, not a mean
    u, v = picture.pixel(best.centroid)  # the numbered mark sits in the image, on the candidate's cell
    row, col = picture.grid.cells(np.array([best.centroid[:2]]))
    assert (v // picture.scale, u // picture.scale) == (row[0], col[0])

    out = tmp_path / "pictures" / "sofa.png"
    status, text, _ = run_cli(capsys, "query", str(store), "sofa", "chair", "--image", str(out))
    assert status == 0 and f"picture: {out}" in text
    written = cv2.imread(str(out))[..., ::-1]
    assert written.shape[0] >= picture.grid.rows * picture.scale
    assert (tmp_path / "pictures" / "sofa-2.png").is_file()  # the second query's picture


def test_the_picture_marks_the_stores_numbered_places_and_their_edges(sim_store):
    from mem3d.apps.drawing import EDGE_RGB, PLACE_RGB, draw_top_down
    from mem3d.apps.offline import place_layer

    store, _ = sim_store
    view = open_view(store)
    config = view.voxel_map.config
    _, result, embedding = answer(view, text_encoder_for(config.feature_model, config.feature_dim), "bed", 5, None)
    picture = query_picture(view, "bed", result, embedding)
    places = place_layer(view)
    memory = view.episodic
    assert len(places.xy) == len(memory.places) >= 2 and len(places.edges) == len(memory.places.edges) >= 1
    assert places.names == tuple(str(p.id) for p in memory.places.places)  # numbered by the place ids
    columns = view.voxel_map.contents().columns
    bare = draw_top_down(columns["position"], columns["color"], view.voxel_map.voxel_size)  # no places
    marked = 0
    for xy in places.xy:
        u, v = picture.pixel(xy)
        marked += tuple(picture.image[v, u]) == PLACE_RGB and tuple(bare.image[v, u]) != PLACE_RGB
    assert marked == len(places.xy)  # each place has its disc
    (a, b) = places.edges[0]
    middle = picture.pixel((places.xy[a] + places.xy[b]) / 2)  # the edge is a line between its places
    near = picture.image[middle[1] - 2:middle[1] + 3, middle[0] - 2:middle[0] + 3].reshape(-1, 3)
    assert (np.abs(near.astype(int) - EDGE_RGB).sum(-1) < 40).any()


def test_the_supporting_keyframe_is_written_with_the_candidate_outlined(sim_store, tmp_path, capsys):
    store, source = sim_store
    out = tmp_path / "bed-keyframe.png"
    status, text, err = run_cli(capsys, "query", str(store), "bed", "--json", "--keyframe", str(out))
    assert status == 0 and f"{out}" in err
    best = json.loads(text)["answers"][0]["candidates"][0]
    assert best["keyframe"] is not None and best["place"].startswith("place ")
    written = cv2.imread(str(out))[..., ::-1]
    outline = np.all(written == (230, 110, 0), axis=-1) | (np.abs(written.astype(int) - (230, 110, 0)).sum(-1) < 60)
    assert outline.sum() > 40  # the box was drawn
    view = open_view(store)  # and the keyframe shows the bed: it holds the bed's pixels (ground truth scores)
    keyframe = view.episodic.keyframes[best["keyframe"]]
    bed = next(t for t in source.truth.objects() if t.label == "bed")
    centre = (np.asarray(bed.bbox_min) + np.asarray(bed.bbox_max)) / 2
    camera = np.linalg.inv(keyframe.T_world_camera) @ np.r_[centre, 1.0]
    assert camera[2] > 0  # in front of the keyframe's camera


@pytest.mark.parametrize("argv, message", [
    (["--keyframe", "{tmp}/kf.jpg"], "--keyframe is written as PNG: give a path ending in .png"),
    (["--image", "{tmp}/map.jpg"], "--image is written as PNG: give a path ending in .png, got map.jpg"),
    (["--top-k", "0"], "--top-k must be >= 1, got 0"),
])
def test_bad_requests_fail_in_one_line_and_create_nothing(sim_store, tmp_path, capsys, argv, message):
    store, _ = sim_store
    before = tree(store)
    status, out, err = run_cli(capsys, "query", str(store), "sofa", *[a.format(tmp=tmp_path) for a in argv])
    assert status == 1 and out == ""
    assert_one_line_error(err, "query", message)
    assert list(tmp_path.iterdir()) == [] and tree(store) == before


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text("x"), "is a file, not a store: give the directory that `mem3d serve --store` wrote"),
    (lambda p: None, "no store at"),
    (lambda p: p.mkdir(), "is not a mem3d map store yet"),
])
def test_a_path_that_is_not_a_store_is_one_line(tmp_path, capsys, make, message):
    path = tmp_path / "thing"
    make(path)
    before = tree(tmp_path)
    status, out, err = run_cli(capsys, "query", str(path), "sofa")
    assert status == 1 and out == ""
    assert_one_line_error(err, "query", message)
    assert tree(tmp_path) == before
