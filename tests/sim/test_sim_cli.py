"""``mem3d sim`` commands and configuration from YAML (the benchmark: tests/bench)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mem3d.apps.cli import main
from mem3d.errors import InvalidInputError
from sim.config import SimConfig
from sim.embedded import EmbeddedSimSource
from sim.episode import ReplaySource


def test_render_writes_rgb_depth_semantic_side_by_side(tmp_path, capsys):
    import cv2

    out = tmp_path / "frame.png"
    assert main(["sim", "render", "--scene", "2", "--out", str(out), "--width", "120", "--height", "90",
                 "--tilt", "-10", "--seed", "3"]) == 0
    report = json.loads(capsys.readouterr().out)
    image = cv2.imread(str(out))
    assert image.shape == (90, 360, 3) and report["visible"]
    left, middle, right = image[:, :120], image[:, 120:240], image[:, 240:]
    assert left.std() > 5 and middle.std() > 5 and right.std() > 5
    assert not np.array_equal(left, middle) and not np.array_equal(middle, right)


def test_scene_command_then_render_and_record_from_the_directory(tmp_path, capsys):
    assert main(["sim", "scene", "--scene", "1", "--out", str(tmp_path / "apt")]) == 0
    assert json.loads(capsys.readouterr().out)["manifest"].endswith("manifest.json")
    assert (tmp_path / "apt" / "manifest.json").is_file()
    xy = EmbeddedSimSource.from_spec(str(tmp_path / "apt")).navigation.grid.random_point(np.random.default_rng(0))
    assert main(["sim", "render", "--scene", str(tmp_path / "apt"), "--out", str(tmp_path / "f.png"),
                 "--width", "64", "--height", "48", "--pose", str(xy[0]), str(xy[1]), "45"]) == 0
    assert json.loads(capsys.readouterr().out)["pose"] == [round(xy[0], 3), round(xy[1], 3), 45.0]
    assert main(["sim", "record", "--scene", str(tmp_path / "apt"), "--out", str(tmp_path / "ep.zarr"),
                 "--steps", "5", "--width", "64", "--height", "48", "--rearrange-at", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["frames"] == 6 and len(ReplaySource(tmp_path / "ep.zarr")) == 6
    assert main(["sim", "record", "--scene", "1", "--out", str(tmp_path / "ep.zarr"), "--steps", "1"]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err
    assert len(ReplaySource(tmp_path / "ep.zarr")) == 6  # untouched


@pytest.mark.parametrize("argv, message", [
    (["--scene", "/no/such/scene"], "does not exist"),
    (["--scene", "0", "--width", "-5"], "image size must be positive"),
    (["--scene", "0", "--missing", "2"], "depth_missing_fraction"),
    (["--scene", "-3"], "apartment seed must be an integer >= 0, got -3"),
    (["--seed", "-2"], "episode seed must be an integer >= 0, got -2"),
])
def test_render_errors_are_clear(tmp_path, capsys, argv, message):
    assert main(["sim", "render", "--out", str(tmp_path / "x.png"), *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1  # one line, no traceback


@pytest.mark.parametrize("text, message", [
    ("camera:\n  width: abc\n", "camera.width must be int, got 'abc'"),
    ("camera: [1, 2\n", "is not valid YAML"),
    ("camera:\n  hfov_deg: '90'\n", "camera.hfov_deg must be float"),
    ("agent:\n  max_tilt_deg: -30\n", "max_tilt_deg must be positive"),
    ("seed: -4\n", "episode seed must be an integer >= 0"),
    ("- a list\n", "must be a mapping"),
    ("camera: {widht: 3}\n", "unknown key(s) ['widht']"),
])
def test_bad_config_files_give_one_line_errors_naming_the_file(tmp_path, capsys, text, message):
    path = tmp_path / "sim.yaml"
    path.write_text(text)
    assert main(["sim", "render", "--config", str(path), "--out", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert message in err and str(path) in err and err.count("\n") == 1


@pytest.mark.parametrize("argv, message", [
    (["--seed", "-1"], "episode seed must be an integer >= 0"),
    (["--rearrange-at", "1", "--fraction", "2"], "fraction must be in [0, 1]"),
    (["--rearrange-at", "-1"], "step must be an integer >= 0"),
    (["--scene", "-3"], "seed must be an integer >= 0"),
])
def test_record_refuses_bad_input_before_writing_anything(tmp_path, capsys, argv, message):
    out = tmp_path / "ep.zarr"
    assert main(["sim", "record", "--out", str(out), "--steps", "2", "--width", "32", "--height", "24", *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not out.exists()


def test_render_pose_inside_a_wall_is_an_error(tmp_path, capsys):
    assert main(["sim", "render", "--scene", "0", "--out", str(tmp_path / "x.png"), "--width", "32",
                 "--height", "24", "--pose", "0.0", "0.0", "0"]) == 1
    assert "not on navigable floor" in capsys.readouterr().err


def test_config_from_nested_values_and_yaml(tmp_path, capsys):
    config = SimConfig.from_dict({"camera": {"width": 80, "height": 60, "tilt_deg": -20}, "agent": {"radius_m": 0.2},
                                  "dt_s": 0.2})
    assert config.camera.intrinsics().width == 80 and config.agent.radius_m == 0.2 and config.dt_s == 0.2
    with pytest.raises(InvalidInputError, match=r"camera: unknown key\(s\) \[.widht.\]"):
        SimConfig.from_dict({"camera": {"widht": 80}})
    with pytest.raises(InvalidInputError, match="must be positive"):
        SimConfig.from_dict({"agent": {"radius_m": -1}})
    (tmp_path / "sim.yaml").write_text("camera:\n  width: 72\n  height: 54\n  hfov_deg: 70\n")
    assert main(["sim", "render", "--config", str(tmp_path / "sim.yaml"), "--out", str(tmp_path / "c.png")]) == 0
    import cv2

    assert cv2.imread(str(tmp_path / "c.png")).shape == (54, 216, 3)
