"""What ``mem3d demo`` found, and its report: ``report.md`` (numbers, answers, pictures) and the same
numbers in ``report.json``, beside the store in the demo's folder."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Answer:
    """One checked question (world frame, metres)."""

    stage: str
    question: str
    expected: str
    """What the ground truth says: "the sofa", "not in the scene", "moved to the kitchen"."""
    right: bool
    found: bool
    position: tuple[float, float, float] | None
    score: float | None
    error_m: float | None
    """Distance from the best candidate's centroid to the nearest true box of the object (None: not found)."""
    note: str = ""


@dataclass(frozen=True)
class Stage:
    """One timed stage of the demo."""

    title: str
    seconds: float
    views: int = 0
    frames: int = 0
    """Frames in the memory at the end of the stage (acknowledged log sequence)."""
    voxels: int = 0
    tour_s: float = 0.0
    """Of ``seconds``, the time the tour took (render, perceive, ingest): the frame rate's base."""

    @property
    def frames_per_s(self) -> float:
        return self.views / self.tour_s if self.tour_s > 0 else 0.0


@dataclass
class DemoReport:
    """Filled in stage by stage; ``write`` puts it in the demo folder."""

    scene: str
    rooms: int
    objects: int
    perception: str
    camera: str
    stages: list[Stage] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    pictures: list[tuple[str, str]] = field(default_factory=list)
    """(file name in the folder, caption)."""
    moved: list[str] = field(default_factory=list)
    store: dict = field(default_factory=dict)
    """``mem3d info`` of the store at the end (``StoreInfo`` as a dict)."""
    navigation: str = ("not run: navigating to goals needs the path planner (planners/, with the occupancy "
                       "grid of mem3d/nav), which this version does not have yet")

    @property
    def right(self) -> int:
        return sum(a.right for a in self.answers)

    @property
    def wrong(self) -> int:
        return len(self.answers) - self.right

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.stages)

    def numbers(self) -> dict:
        return {"scene": self.scene, "rooms": self.rooms, "objects": self.objects, "perception": self.perception,
                "camera": self.camera, "seconds": round(self.seconds, 1), "answers_right": self.right,
                "answers_wrong": self.wrong, "stages": [{**asdict(s), "frames_per_s": round(s.frames_per_s, 2)}
                                                        for s in self.stages],
                "answers": [asdict(a) for a in self.answers], "pictures": [p for p, _ in self.pictures],
                "moved": self.moved, "store": self.store, "navigation": self.navigation}

    def write(self, folder: Path) -> Path:
        """Write ``report.md`` and ``report.json`` into ``folder``; the path of the markdown."""
        (folder / "report.json").write_text(json.dumps(self.numbers(), indent=1))
        path = folder / "report.md"
        path.write_text(self.markdown())
        return path

    def markdown(self) -> str:
        store = self.store
        lines = [
            "# mem3d demo", "",
            f"Apartment {self.scene!r}: {self.rooms} rooms, {self.objects} objects. Perception: {self.perception}. "
            f"Camera: {self.camera}. The memory service ran as its own process (ZeroMQ on 127.0.0.1) and "
            "was restarted from its store once.", "",
            f"**{self.right} of {len(self.answers)} answers right** in {self.seconds:.0f} s.", "",
            "## Stages", "",
            "| stage | views | frames in memory | voxels | frames/s | seconds |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
            *(f"| {s.title} | {s.views} | {s.frames} | {s.voxels} | "
              f"{f'{s.frames_per_s:.1f}' if s.views else ''} | {s.seconds:.1f} |" for s in self.stages), "",
            "## Answers", "",
            "A candidate is right when its centroid lies within 0.5 m of an object of the asked label "
            "(ground truth scores the answers; it never feeds the memory).", "",
            "| stage | question | truth | verdict | best candidate (x, y, z) m | score | error m | note |",
            "| --- | --- | --- | --- | --- | ---: | ---: | --- |",
            *(f"| {a.stage} | {a.question} | {a.expected} | {'right' if a.right else '**wrong**'} | "
              + ("not found" if a.position is None else "{:.2f}, {:.2f}, {:.2f}".format(*a.position))
              + f" | {'' if a.score is None else f'{a.score:.2f}'} | "
              + f"{'' if a.error_m is None else f'{a.error_m:.2f}'} | {a.note} |" for a in self.answers), "",
        ]
        if self.moved:
            lines += ["## Someone tidied up", "", *(f"- {m}" for m in self.moved), ""]
        if self.pictures:
            lines += ["## Pictures", "", "Top-down: the floor's colours, the query's similarity (turbo: red is best), "
                      "candidates numbered by rank, a metre scale bar.", ""]
            lines += [f"![{caption}]({name})\n\n*{caption}*\n" for name, caption in self.pictures]
        lines += ["## Navigate to goals", "", self.navigation, ""]
        if store:
            lines += ["## The store", "",
                      f"`{store['store']}`: {store['n_voxels']} voxels, {store['frames']} frames, "
                      f"{store['disk_bytes']} bytes on disk, feature model {store['feature_model']} "
                      f"({store['feature_dim']}-d), checkpoint {store['checkpoint']}.", "",
                      "Ask it yourself:", "", "```",
                      f"mem3d info {store['store']}",
                      f"mem3d query {store['store']} \"sofa\" \"coffee cup\" --image where.png",
                      f"mem3d export {store['store']} --ply map.ply", "```", ""]
        return "\n".join(lines)
