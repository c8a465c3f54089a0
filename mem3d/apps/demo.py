"""``mem3d demo``: the whole stack on the embedded simulator, end to end, checked against ground truth.

1. explore: tour a procedural apartment, render -> label-embedding perception -> the memory service
   (its own process, ZeroMQ on 127.0.0.1);
2. ask the memory where things are, by name and by synonym, and for things that are not there;
3. navigate to two or three of the objects it found, with the planner, by motion the simulator checks
   (``mem3d.apps.demo_navigation``): each goal verified by looking at it, then scored against the truth;
4. move 30% of the small objects to other rooms, tour again, and ask for the moved ones;
5. restart the service from its store and ask again: the memory survived.

It writes ``runs/demo/`` (``--out``): ``report.md`` with the numbers, the answers and top-down pictures,
``report.json``, the PNGs and the store (``mem3d query runs/demo/store ...`` asks it again). The stage,
frames/s and the time left are shown while it runs; the exit status is 1 when an answer is wrong (a
navigation goal not reached counts as a wrong answer).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mem3d.apps.demo_report import Answer, DemoReport, Stage
from mem3d.apps.demo_sight import SightWatch
from mem3d.apps.info_cli import store_info
from mem3d.apps.service_process import start_service_process
from mem3d.client import MemoryClient
from mem3d.types import LocalizeResult

SYNONYMS = {"white mug": "coffee cup", "sofa": "couch", "refrigerator": "fridge", "trash can": "garbage bin",
            "laptop": "notebook computer", "television": "tv"}
ABSENT = ("piano", "motorcycle", "fire extinguisher")
NEAR_M = 0.5
"""A candidate counts as right when its centroid is this close to an object of the right label."""
STAGES = 5
MAX_GOALS = 5
MARKER = "demo.json"
"""Written into the output folder, so that a re-run may clear a folder it made itself (and no other)."""


@dataclass(frozen=True)
class DemoConfig:
    scene: str = "0"
    out: str = "runs/demo"
    width: int = 640
    height: int = 480
    samples: int = 20_000
    """Points per frame."""
    views: int | None = None
    """At most this many views per tour (None: the whole tour); for reduced runs."""
    pictures: int = 3
    """Top-down pictures of this many questions."""
    goals: int = 3
    """Navigation goals (0: no navigation stage)."""
    goal_actions: int = 150
    """The planner's budget of actions per goal."""

    def __post_init__(self) -> None:
        from mem3d.validation import require

        require(0 <= self.goals <= MAX_GOALS, f"--goals must be 0 to {MAX_GOALS}, got {self.goals}")
        require(self.views is None or self.views >= 1, f"--views must be >= 1, got {self.views}")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> DemoConfig:
        size = (320, 240, 8000) if args.quick else (cls.width, cls.height, cls.samples)
        return cls(args.scene, args.out, *size, views=args.views, goals=args.goals)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scene", default="0", help="apartment seed or scene directory")
    parser.add_argument("--out", default="runs/demo", help="folder for the report, the pictures and the store "
                        "(replaced if an earlier demo made it)")
    parser.add_argument("--quick", action="store_true", help="320x240 images and 8,000 points per frame")
    parser.add_argument("--views", type=int, help="at most this many views per tour (default: the whole tour; "
                        "fewer make a shorter demo)")
    parser.add_argument("--goals", type=int, default=3, help="objects to navigate to after the questions, with "
                        f"the planner (0 to {MAX_GOALS}; 0 skips the stage; default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    report = run_demo(DemoConfig.from_args(args))
    return 0 if report.wrong == 0 else 1


def say(text: str) -> None:
    print(text, flush=True)


def prepare(out: Path) -> Path:
    """An empty output folder: a new one, or one an earlier demo made (``MARKER``); the store inside."""
    from mem3d.errors import InvalidInputError

    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"--out {out} is a file: give a folder for the demo's report and store")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise InvalidInputError(f"--out {out} holds files the demo did not write: give a new or empty folder")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text('{"written_by": "mem3d demo"}\n')
    return out / "store"


class Clock:
    """Stage headers with the time so far and an estimate of what is left: the revisit as long as the
    first tour, each navigation goal as long as the goals so far took (before the first, as long as
    ``GOAL_VIEWS_GUESS`` views at the tour's pace), 15 s for the restart and its questions."""

    def __init__(self, goals: int) -> None:
        self.started = time.monotonic()
        self.goals = goals
        self.tour: tuple[int, float] | None = None
        """(views, seconds) of the first tour."""
        self.goal_s: list[float] = []

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def header(self, number: int, title: str) -> float:
        left = "" if self.tour is None else f", about {self.left(number):.0f} s left"
        say(f"\n[{number}/{STAGES}] {title} ({self.elapsed():.0f} s so far{left})")
        return time.monotonic()

    def left(self, number: int, goals_done: int = 0) -> float:
        """Seconds left from the start of stage ``number`` (within stage 3: after ``goals_done`` goals)."""
        from mem3d.apps.demo_navigation import GOAL_VIEWS_GUESS

        views, seconds = self.tour or (1, 0.0)
        per_goal = float(np.mean(self.goal_s)) if self.goal_s else GOAL_VIEWS_GUESS * seconds / max(views, 1)
        navigation = (self.goals - goals_done) * per_goal if number <= 3 else 0.0
        return max(0.0, navigation + (seconds if number <= 4 else 0.0) + 15.0)

    def after_goal(self, done: int, seconds: float) -> str:
        self.goal_s.append(seconds)
        return f", about {self.left(3, done):.0f} s left"


def run_demo(config: DemoConfig) -> DemoReport:
    """Run the demo; its report (written into ``config.out``)."""
    from mem3d.encoder import create_encoder
    from perception.config import FrameConfig
    from perception.node import PerceptionNode
    from sim.config import CameraConfig, SimConfig
    from sim.embedded import EmbeddedSimSource

    out = Path(config.out)
    store = prepare(out)
    source = EmbeddedSimSource.from_spec(config.scene, SimConfig(camera=CameraConfig(width=config.width,
                                                                                     height=config.height)))
    report = DemoReport(config.scene, len(source.scene.rooms), len(source.truth.objects()),
                        "label-minilm (the simulator's semantic labels embedded by all-MiniLM-L6-v2)",
                        f"{config.width}x{config.height}, {config.samples:,} points per frame")
    say(f"mem3d demo: apartment {config.scene!r} with {report.rooms} rooms and {report.objects} objects; "
        f"report and store in {out}")
    say("loading the label-embedding encoder (all-MiniLM-L6-v2, offline)...")
    encoder = create_encoder("label-minilm")
    clock = Clock(config.goals)
    try:
        with start_service_process(store, encoder="label-minilm") as service:
            with service.client(timeout=60) as client:
                node = PerceptionNode(encoder, client, FrameConfig(n_samples=config.samples), name="demo")
                began = clock.header(1, "explore: tour every room and build the memory")
                node.process(source.reset(0))
                views, seconds = tour(node, source, "exploring", config.views)
                finish(report, client, "1 explore", began, (views + 1, seconds))
                clock.tour = (views + 1, seconds)
                began = clock.header(2, "ask the memory where things are")
                first = ask_everything(client, source, report)
                draw(report, client, store, encoder, first[:config.pictures], out, "first tour")
                finish(report, client, "2 ask", began)
                began = clock.header(3, "navigate to objects it found, with the planner (checked motion, "
                                        "no teleport)")
                toured = navigate(report, client, node, source, store, config, clock, out)
                finish(report, client, "3 navigate", began, toured)
                began = clock.header(4, "someone tidies up: rearrange, revisit, ask again")
                moved = source.dynamics.rearrange(0.3, seed=1).events
                for event in moved:
                    report.moved.append(f"{event.label}: {event.from_room} -> {event.to_room}")
                    say(f"  moved: {report.moved[-1]}")
                watch = SightWatch(source, [old_centre(source, e) for e in moved], node.frame_config.carve_downsample)
                toured = tour(node, source, "revisiting", config.views, watch)
                ask_moved(client, source, moved, watch, report, "4 after tidying")
                draw(report, client, store, encoder, [e.label for e in moved[:1]], out, "after tidying")
                finish(report, client, "4 rearrange and revisit", began, toured)
                client.shutdown()
            service.wait(timeout=60)
        began = clock.header(5, "restart the memory service from its store and ask again")
        with start_service_process(store, encoder="label-minilm") as service:
            with service.client(timeout=60) as client:
                say(f"  the memory holds {client.stats().n_voxels:,} voxels again")
                ask_moved(client, source, moved[:2], watch, report, "5 after restart")
                finish(report, client, "5 restart", began)
                client.shutdown()
            service.wait(timeout=60)
    finally:
        source.close()
    report.store = asdict(store_info(store))
    path = report.write(out)
    say(f"\n{report.right} of {len(report.answers)} answers right in {clock.elapsed():.0f} s; report: {path}")
    if report.wrong:
        print(f"mem3d demo: {report.wrong} answer(s) wrong (see {path})", file=sys.stderr)
    return report


def finish(report: DemoReport, client: MemoryClient, title: str, began: float, toured: tuple[int, float] = (0, 0.0)
           ) -> Stage:
    stats = client.stats()
    stage = Stage(title, time.monotonic() - began, toured[0], stats.log_seq, stats.n_voxels, toured[1])
    report.stages.append(stage)
    return stage


def tour(node, source, title: str, limit: int | None, watch: SightWatch | None = None) -> tuple[int, float]:
    """Drive the node through a room tour from where the agent stands (a bar with frames/s and the
    time left on terminals, a summary line everywhere), observing through ``watch`` if given;
    (views, seconds)."""
    from itertools import islice

    from sim.tour import room_tour

    actions = list(islice(room_tour(source), limit))
    started = time.monotonic()
    node.run(watch or source, tqdm(actions, desc=f"  {title}", unit="frame", leave=False, disable=None), reset=False)
    seconds = time.monotonic() - started
    say(f"  {title}: {len(actions)} views in {seconds:.0f} s ({len(actions) / max(seconds, 1e-9):.1f} frames/s), "
        f"{node.stats.acknowledged} frames in the memory")
    return len(actions), seconds


def current_view(client: MemoryClient, store: Path):
    """The store as it is now (read-only, beside the live service). A checkpoint first: the reader
    then loads it instead of replaying every logged frame (minutes)."""
    from mem3d.apps.offline import open_view

    client.save()
    return open_view(store)


def navigate(report: DemoReport, client: MemoryClient, node, source, store: Path, config: DemoConfig,
             clock: Clock, out: Path) -> tuple[int, float]:
    """Stage 3: the goals, each a checked answer, and the picture of the path; (views, seconds)."""
    from mem3d.apps.demo_navigation import choose_goals, navigate_to_goals, navigation_answer, navigation_picture
    from mem3d.apps.drawing import write_png

    goals = choose_goals(report.answers, source.state.xy, config.goals)  # the agent's start, for spreading
    clock.goals = len(goals)
    if not goals:
        say("  no goal: the memory found none of the objects asked about" if config.goals else "  skipped (--goals 0)")
        return 0, 0.0
    say(f"  goals, from the memory's answers: {', '.join(goals)}")

    def perceive(obs) -> None:
        node.process(obs)
        node.flush()  # the memory has applied the view before the planner asks about it

    run = navigate_to_goals(client, source, perceive, goals, config.goal_actions, say, clock.after_goal)
    report.navigation, report.navigation_path = list(run.goals), [tuple(xy) for xy in run.trail.tolist()]
    report.answers.extend(navigation_answer(goal) for goal in run.goals)
    name = "navigate-path.png"
    write_png(out / name, navigation_picture(current_view(client, store), run).image)
    report.navigation_picture = name
    say(f"  {sum(g.reached for g in run.goals)} of {len(goals)} goals reached, {run.views} views at "
        f"{run.views / max(run.seconds, 1e-9):.1f} frames/s; path: {out / name}")
    return run.views, run.seconds


def draw(report: DemoReport, client: MemoryClient, store: Path, encoder, texts: list[str], out: Path,
         when: str) -> None:
    """Top-down pictures of ``texts`` from the store as it is now."""
    from mem3d.apps.drawing import write_png
    from mem3d.apps.query_cli import answer, query_picture

    view = current_view(client, store)
    for text in texts:
        _, result, embedding = answer(view, encoder, text, 5, None)
        name = f"{when.replace(' ', '-')}-{text.replace(' ', '-')}.png"
        write_png(out / name, query_picture(view, text, result, embedding).image)
        report.pictures.append((name, f'"{text}", {when}'))


def describe(result: LocalizeResult) -> str:
    if not result.found:
        return "not found (explore)"
    best = result.candidates[0]
    x, y, z = best.centroid
    return f"({x:5.2f}, {y:5.2f}, {z:4.2f}) score {best.score:.2f}, {len(result.candidates)} place(s)"


def distance_to_label(source, label: str, point) -> float:
    """Distance from ``point`` to the nearest bounding box of an object labelled ``label``."""
    best = np.inf
    for truth in source.truth.objects():
        if truth.label == label:
            gap = np.maximum(np.maximum(truth.bbox_min - point, np.asarray(point) - truth.bbox_max), 0.0)
            best = min(best, float(np.linalg.norm(gap)))
    return best


def check(client: MemoryClient, source, text: str, label: str | None, report: DemoReport) -> None:
    result = client.localize(text=text)
    best = result.candidates[0] if result.found else None
    error = None if best is None or label is None else distance_to_label(source, label, best.centroid)
    right = (not result.found) if label is None else (error is not None and error <= NEAR_M)
    expected = "not in the scene" if label is None else f"the {label}"
    report.answers.append(Answer("2 ask", text, expected, right, result.found,
                                 None if best is None else tuple(round(v, 3) for v in best.centroid),
                                 None if best is None else round(best.score, 3),
                                 None if error is None else round(error, 3)))
    target = f"({expected})" if text != label else ""
    say(f"  {'ok ' if right else 'MISS'} where is the {text!r:<20} {target:<24} -> {describe(result)}")


def ask_everything(client: MemoryClient, source, report: DemoReport) -> list[str]:
    """Names, synonyms and absent things; returns the texts asked that name objects."""
    labels = sorted({t.label for t in source.truth.objects() if t.label not in ("wall", "floor", "ceiling")})
    picks = [label for label in labels if label in SYNONYMS][:4] + labels[:: max(1, len(labels) // 6)][:6]
    asked = []
    for label in dict.fromkeys(picks):
        check(client, source, label, label, report)
        asked.append(label)
        if label in SYNONYMS:
            check(client, source, SYNONYMS[label], label, report)
    for text in ABSENT:
        check(client, source, text, None, report)
    return asked


def ask_moved(client: MemoryClient, source, moved, watch: SightWatch, report: DemoReport, stage: str) -> None:
    """Each moved object must be found at its new place, and no longer at its old one, unless no
    revisit frame's depth (as carving gets it) saw through that spot: something now stands there or
    in front of it, and no depth can disprove the old surfaces (reported, not counted)."""
    for index, event in enumerate(moved):
        result = client.localize(text=event.label, top_k=10)
        places = [np.asarray(c.centroid) for c in result.candidates]
        new = [p for p in places if np.linalg.norm(p[:2] - np.asarray(event.to_position[:2])) <= NEAR_M]
        old_place = any(np.linalg.norm(p[:2] - np.asarray(event.from_position[:2])) <= NEAR_M for p in places)
        seen, glimpsed = int(watch.seen_through[index]), int(watch.glimpsed[index])
        hidden = old_place and seen == 0
        right = bool(new) and (not old_place or hidden)
        old = ("cleared" if not old_place else hidden_from_view(source, event, glimpsed) if hidden
               else f"still remembered, though {seen} revisit frame(s) saw through it")
        best = new[0] if new else (places[0] if places else None)
        error = None if not new else float(np.linalg.norm(new[0][:2] - np.asarray(event.to_position[:2])))
        report.answers.append(Answer(stage, event.label, f"moved to the {event.to_room}", right, result.found,
                                     None if best is None else tuple(round(float(v), 3) for v in best),
                                     round(result.candidates[0].score, 3) if result.found else None,
                                     None if error is None else round(error, 3),
                                     f"old place in the {event.from_room}: {old}"))
        say(f"  {'ok ' if right else 'MISS'} {event.label:<12} now in the {event.to_room:<12} "
            f"{'found there' if new else 'NOT found there'}; old place in the {event.from_room}: {old}")


def old_centre(source, event) -> np.ndarray:
    """Where the middle of a moved object was (its pose is at its base; its size is unchanged)."""
    truth = next(t for t in source.truth.objects() if t.instance_id == event.instance_id)
    return np.asarray(event.from_position) + (0.0, 0.0, (truth.bbox_max[2] - truth.bbox_min[2]) / 2)


def hidden_from_view(source, event, glimpsed: int) -> str:
    """Why an old place still answers that no frame could clear."""
    occupant = occupant_at(source, old_centre(source, event))
    why = f"the {occupant} stands there now" if occupant else "something now stands in front of it"
    note = f"; {glimpsed} full-resolution glimpse(s)" if glimpsed else ""
    return f"still remembered, never seen through on the revisit ({why}{note})"


def occupant_at(source, point: np.ndarray) -> str | None:
    """The label of an object whose box now contains ``point``."""
    for truth in source.truth.objects():
        if np.all((point >= truth.bbox_min) & (point <= truth.bbox_max)):
            return truth.label
    return None
