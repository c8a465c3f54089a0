"""``mem3d demo`` in a reduced configuration: the report's numbers are the store's, its pictures
exist, and the exit status says whether every checked answer was right."""

import json
import re

import pytest

from mem3d.apps.info_cli import store_info
from tests.helpers.cli import assert_one_line_error, run_cli

pytestmark = [pytest.mark.edge, pytest.mark.slow]


def test_a_reduced_demo_writes_a_report_that_matches_its_store(tmp_path, capsys):
    out = tmp_path / "demo"
    status, text, err = run_cli(capsys, "demo", "--out", out, "--quick", "--views", "12")
    numbers = json.loads((out / "report.json").read_text())
    report = (out / "report.md").read_text()
    assert status == (1 if numbers["answers_wrong"] else 0)
    assert ("answer(s) wrong" in err) == bool(numbers["answers_wrong"])

    info = store_info(out / "store")  # the store as a reader finds it now
    assert numbers["store"]["n_voxels"] == info.n_voxels > 0 and numbers["store"]["frames"] == info.frames
    last = numbers["stages"][-1]
    assert last["voxels"] == info.n_voxels and last["frames"] == info.frames == 1 + 12 + 12  # reset + two tours
    assert f"`{out / 'store'}`: {info.n_voxels} voxels, {info.frames} frames" in report
    rows = re.findall(r"^\| (\d [^|]+) \| (\d+) \| (\d+) \| (\d+) \|", report, flags=re.M)
    assert [(t.strip(), int(v), int(f), int(n)) for t, v, f, n in rows] == [
        (s["title"], s["views"], s["frames"], s["voxels"]) for s in numbers["stages"]]
    right = sum(a["right"] for a in numbers["answers"])
    assert f"**{right} of {len(numbers['answers'])} answers right**" in report
    assert report.count("| **wrong** |") == numbers["answers_wrong"]
    assert numbers["pictures"] and all((out / name).is_file() and f"]({name})" in report
                                       for name in numbers["pictures"])
    assert "## Navigate to goals" in report and "not run" in numbers["navigation"]
    assert "[1/5] explore" in text and "[5/5] restart" in text and "frames/s" in text

    status, _, err = run_cli(capsys, "demo", "--out", tmp_path / "demo" / "report.md")  # a file, not a folder
    assert status == 1
    assert_one_line_error(err, "demo", "is a file: give a folder for the demo's report and store")
