"""``mem3d demo`` in a reduced configuration: the report's numbers are the store's, the navigation
stage's numbers are what the agent did, its pictures exist, and the exit status says whether every
checked answer (navigation goals included) was right."""

import json
import re

import numpy as np
import pytest

from mem3d.apps.demo_navigation import TracedBody, floor_distance_to_label
from mem3d.apps.demo_report import NAV_SUCCESS_M
from mem3d.apps.info_cli import store_info
from mem3d.errors import InvalidInputError
from mem3d.source import Action, ActionKind
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
    stages = {s["title"]: s for s in numbers["stages"]}
    navigation = stages["3 navigate"]
    assert navigation["views"] == len(numbers["navigation_path_xy"]) == sum(g["views"] for g in numbers["navigation"])
    assert navigation["frames"] == stages["2 ask"]["frames"] + navigation["views"]  # every view reached the memory
    last = numbers["stages"][-1]
    assert last["voxels"] == info.n_voxels  # reset + two tours + the navigation's views
    assert last["frames"] == info.frames == 1 + 12 + navigation["views"] + 12
    assert f"`{out / 'store'}`: {info.n_voxels} voxels, {info.frames} frames" in report
    rows = re.findall(r"^\| (\d [^|]+) \| (\d+) \| (\d+) \| (\d+) \|", report, flags=re.M)
    assert [(t.strip(), int(v), int(f), int(n)) for t, v, f, n in rows] == [
        (s["title"], s["views"], s["frames"], s["voxels"]) for s in numbers["stages"]]
    right = sum(a["right"] for a in numbers["answers"])
    assert f"**{right} of {len(numbers['answers'])} answers right**" in report
    assert report.count("| **wrong** |") == numbers["answers_wrong"]
    assert numbers["pictures"] and all((out / name).is_file() and f"]({name})" in report
                                       for name in numbers["pictures"])
    assert "[1/5] explore" in text and "[5/5] restart" in text and "frames/s" in text and "s left" in text
    check_navigation(numbers, report, text)

    status, _, err = run_cli(capsys, "demo", "--out", tmp_path / "demo", "--goals", "9")  # refused before any work
    assert status == 1
    assert_one_line_error(err, "demo", "--goals must be 0 to 5, got 9")
    assert (out / "report.json").read_text() == json.dumps(numbers, indent=1)  # the earlier demo is untouched

    status, _, err = run_cli(capsys, "demo", "--out", tmp_path / "demo" / "report.md")  # a file, not a folder
    assert status == 1
    assert_one_line_error(err, "demo", "is a file: give a folder for the demo's report and store")


def check_navigation(numbers: dict, report: str, text: str) -> None:
    """The navigation stage ran on goals the memory found, its path is what the agent travelled, each
    goal's verdict follows from where it stopped, and a goal not reached is a wrong answer."""
    from sim.embedded import EmbeddedSimSource

    goals = numbers["navigation"]
    assert goals, "the reduced demo's memory found at least one object to go to"
    plans = [g["planner"] for g in goals]
    found = {a["question"] for a in numbers["answers"] if a["stage"] == "2 ask" and a["right"] and a["found"]}
    assert {p["goal"] for p in plans} <= found
    path = np.asarray(numbers["navigation_path_xy"])
    travelled = float(np.linalg.norm(np.diff(path, axis=0), axis=1).sum())
    assert travelled == pytest.approx(sum(p["travelled_m"] for p in plans), abs=0.01)  # straight, checked moves
    assert travelled > 0.1  # it moved (it stops at the first standoff of the newest box: 0.3 m in this demo)
    assert np.allclose(path[0], plans[0]["start_xy"], atol=1e-3)
    assert np.allclose(path[-1], plans[-1]["end_xy"], atol=1e-3)
    truth = EmbeddedSimSource.from_spec("0")  # the same apartment; its truth scores the stops
    navigation_answers = [a for a in numbers["answers"] if a["stage"] == "3 navigate"]
    assert [a["question"] for a in navigation_answers] == [f"go to the {p['goal']}" for p in plans]
    for goal, plan, answer in zip(goals, plans, navigation_answers):
        distance = floor_distance_to_label(truth, plan["goal"], np.asarray(plan["end_xy"]))
        assert goal["distance_m"] == pytest.approx(distance, abs=1e-3)
        assert goal["reached"] == (plan["stop_reason"] == "verified" and distance <= NAV_SUCCESS_M)
        assert answer["right"] == goal["reached"] and plan["actions"] >= goal["views"] - 1
        row = f"| {plan['goal']} | {'yes' if goal['reached'] else '**no**'} | {plan['stop_reason']} | " \
              f"{plan['travelled_m']:.2f} | {plan['actions']} | {goal['views']} |"
        assert row in report
        assert (f"{'ok ' if goal['reached'] else 'MISS'} {plan['goal']}: {plan['stop_reason']}") in text
    assert f"**{sum(g['reached'] for g in goals)} of {len(goals)} goals reached**" in report
    assert numbers["navigation_picture"] == "navigate-path.png" and "](navigate-path.png)" in report
    assert "[3/5] navigate" in text and "[goal 1: " in text


def test_the_navigation_body_refuses_a_teleport_and_keeps_the_path(source):
    seen = []
    body = TracedBody(source, seen.append)
    start = body.look()
    x, y = start.T_world_camera[0, 3], start.T_world_camera[1, 3]
    with pytest.raises(InvalidInputError, match="GO_TO"):
        body.act(Action(ActionKind.GO_TO, (float(x) + 1.0, float(y), 0.0)))
    assert source.state.xy == pytest.approx((x, y))  # the refused teleport moved nothing
    result = body.act(Action(ActionKind.MOVE_FORWARD))
    body.look()
    assert len(seen) == 2 and body.views == 2 and result.travelled_m > 0
    assert body.travelled_m == pytest.approx(result.travelled_m)
    assert float(np.hypot(*np.subtract(body.trail[1], body.trail[0]))) == pytest.approx(result.travelled_m)
