"""``mem3d demo``: the whole stack on the embedded simulator, end to end, with ground truth.

1. start the memory service (a separate process, ZeroMQ on 127.0.0.1);
2. tour a procedural apartment: render -> label-embedding perception -> ingest over ZeroMQ;
3. ask the memory where things are, by name and by synonym, and check against ground truth;
4. move 30% of the small objects to other rooms, tour again, and ask for the moved ones;
5. restart the service from its store and ask again: the memory survived.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mem3d.apps.service_process import start_service_process
from mem3d.client import MemoryClient
from mem3d.types import LocalizeResult

SYNONYMS = {"white mug": "coffee cup", "sofa": "couch", "refrigerator": "fridge", "trash can": "garbage bin",
            "laptop": "notebook computer", "television": "tv"}
ABSENT = ("piano", "motorcycle", "fire extinguisher")
NEAR_M = 0.5
"""A candidate counts as correct when its centroid is this close to an object of the right label."""


@dataclass
class Tally:
    right: int = 0
    wrong: int = 0

    def add(self, ok: bool) -> str:
        self.right += ok
        self.wrong += not ok
        return "ok " if ok else "MISS"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scene", default="0", help="apartment seed or scene directory (default 0)")
    parser.add_argument("--workdir", help="where the memory store goes (default: a temporary directory)")
    parser.add_argument("--quick", action="store_true", help="smaller images and a shorter tour")


def run(args: argparse.Namespace) -> int:
    from mem3d.encoder import create_encoder
    from perception.config import FrameConfig
    from perception.node import PerceptionNode
    from sim.config import CameraConfig, SimConfig
    from sim.embedded import EmbeddedSimSource

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="mem3d-demo-"))
    store = workdir / "store"
    shutil.rmtree(store, ignore_errors=True)
    camera = CameraConfig(width=320, height=240) if args.quick else CameraConfig()
    source = EmbeddedSimSource.from_spec(args.scene, SimConfig(camera=camera))
    tally = Tally()
    say(f"mem3d demo: apartment {args.scene!r} with {len(source.scene.rooms)} rooms, "
        f"{len(source.truth.objects())} objects; memory store in {store}")
    say("loading the label-embedding encoder (all-MiniLM-L6-v2, offline)...")
    encoder = create_encoder("label-minilm")
    started = time.monotonic()
    try:
        with start_service_process(store, encoder="label-minilm") as service:
            with service.client(timeout=60) as client:
                node = PerceptionNode(encoder, client, FrameConfig(n_samples=8000 if args.quick else 20_000),
                                      name="demo")
                node.process(source.reset(0))
                tour(node, source, "touring every room")
                ask_everything(client, source, tally)
                moved = source.dynamics.rearrange(0.3, seed=1).events
                say(f"\nsomeone tidies up: {len(moved)} objects moved to other rooms")
                for event in moved:
                    say(f"  {event.label}: {event.from_room} -> {event.to_room}")
                tour(node, source, "touring again")
                ask_moved(client, source, moved, tally)
                client.save()
                client.shutdown()
            service.wait(timeout=60)
        say("\nrestarting the memory service from its store...")
        with start_service_process(store, encoder="label-minilm") as service:
            with service.client(timeout=60) as client:
                say(f"the memory holds {client.stats().n_voxels:,} voxels again")
                ask_moved(client, source, moved[:2], tally)
                client.shutdown()
            service.wait(timeout=60)
    finally:
        source.close()
    say(f"\n{tally.right} of {tally.right + tally.wrong} answers right in {time.monotonic() - started:.0f} s.")
    return 0


def say(text: str) -> None:
    print(text, flush=True)


def tour(node, source, title: str) -> None:
    """Drive the node through a room tour from where the agent stands (a bar on terminals only)."""
    from sim.tour import room_tour

    actions = list(room_tour(source))
    node.run(source, tqdm(actions, desc=title, unit="view", leave=False, disable=None), reset=False)
    say(f"{title}: {len(actions)} views, {node.stats.acknowledged} frames in the memory")


def describe(result: LocalizeResult) -> str:
    if not result.found:
        return "not found (explore)"
    best = result.candidates[0]
    x, y, z = best.centroid
    return f"({x:5.2f}, {y:5.2f}, {z:4.2f}) score {best.score:.2f}, {len(result.candidates)} place(s)"


def distance_to_label(source, label: str, point: tuple[float, float, float]) -> float:
    """Distance from ``point`` to the nearest bounding box of an object labelled ``label``."""
    best = np.inf
    for truth in source.truth.objects():
        if truth.label == label:
            gap = np.maximum(np.maximum(truth.bbox_min - point, np.asarray(point) - truth.bbox_max), 0.0)
            best = min(best, float(np.linalg.norm(gap)))
    return best


def check(client: MemoryClient, source, text: str, label: str | None, tally: Tally) -> None:
    result = client.localize(text=text)
    if label is None:
        verdict = tally.add(not result.found)
    else:
        verdict = tally.add(result.found and distance_to_label(source, label, result.candidates[0].centroid)
                            <= NEAR_M)
    target = "(not in the scene)" if label is None else f"(the {label})" if text != label else ""
    say(f"  {verdict} where is the {text!r:<20} {target:<24} -> {describe(result)}")


def ask_everything(client: MemoryClient, source, tally: Tally) -> None:
    labels = sorted({t.label for t in source.truth.objects() if t.label not in ("wall", "floor", "ceiling")})
    picks = [label for label in labels if label in SYNONYMS][:4] + labels[:: max(1, len(labels) // 6)][:6]
    say("\nasking the memory:")
    for label in dict.fromkeys(picks):
        check(client, source, label, label, tally)
        if label in SYNONYMS:
            check(client, source, SYNONYMS[label], label, tally)
    for text in ABSENT:
        check(client, source, text, None, tally)


def ask_moved(client: MemoryClient, source, moved, tally: Tally) -> None:
    """Each moved object must be found at its new place, and no longer at its old one, unless
    something else now stands there and hides that spot from every camera (then no depth can
    disprove the old surfaces: they are reported, not counted)."""
    say("asking for the moved objects:")
    for event in moved:
        result = client.localize(text=event.label, top_k=10)
        places = [np.asarray(c.centroid) for c in result.candidates]
        new_place = any(np.linalg.norm(p[:2] - np.asarray(event.to_position[:2])) <= NEAR_M for p in places)
        old_place = any(np.linalg.norm(p[:2] - np.asarray(event.from_position[:2])) <= NEAR_M for p in places)
        occupant = occupant_at(source, old_centre(source, event))
        hidden = old_place and occupant is not None
        verdict = tally.add(new_place and (not old_place or hidden))
        old = ("cleared" if not old_place else f"hidden inside the {occupant} that stands there now" if hidden
               else "still remembered")
        say(f"  {verdict} {event.label:<12} now in the {event.to_room:<12} "
            f"{'found there' if new_place else 'NOT found there'}; old place in the {event.from_room}: {old}")


def old_centre(source, event) -> np.ndarray:
    """Where the middle of a moved object was (its pose is at its base; its size is unchanged)."""
    truth = next(t for t in source.truth.objects() if t.instance_id == event.instance_id)
    return np.asarray(event.from_position) + (0.0, 0.0, (truth.bbox_max[2] - truth.bbox_min[2]) / 2)


def occupant_at(source, point: np.ndarray) -> str | None:
    """The label of an object whose box now contains ``point``."""
    for truth in source.truth.objects():
        if np.all((point >= truth.bbox_min) & (point <= truth.bbox_max)):
            return truth.label
    return None
