"""What ``mem3d demo`` found, and its report: ``report.md`` (numbers, answers, pictures) and the same
numbers in ``report.json``, beside the store in the demo's folder."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # an edge package: the report only holds its dataclass
    from planners.reports import GoalReport


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


@dataclass(frozen=True)
class NavGoal:
    """One goal of the navigation stage: the planner's own report and the demo's score of it."""

    planner: GoalReport
    """``planners.reports.GoalReport``: stop reason, path travelled (what the simulator reported for
    each move, metres), actions, time (s), start and end (world x, y), the verified candidate's centroid."""
    reached: bool
    """Verified by looking (the planner's verdict) and stopped within ``NAV_SUCCESS_M`` of the object
    (the simulator's truth, for scoring)."""
    views: int
    """Views perceived into the memory on the way."""
    distance_m: float
    """Floor-plane distance from where the agent stopped to the nearest true box of the goal's label."""

    @property
    def goal(self) -> str:
        return self.planner.goal

    @property
    def path_m(self) -> float:
        return self.planner.travelled_m

    @property
    def seconds(self) -> float:
        return self.planner.time_s


NAV_SUCCESS_M = 1.0
"""A navigation goal is reached when the agent stops this close (floor plane) to the object's box."""


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
    navigation: list[NavGoal] = field(default_factory=list)
    navigation_picture: str | None = None
    """File name of the top-down picture with the travelled path."""
    navigation_path: list[tuple[float, float]] = field(default_factory=list)
    """The camera's world (x, y) at each view of the navigation stage, metres, in order."""

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
                "moved": self.moved, "store": self.store, "navigation": [asdict(g) for g in self.navigation],
                "navigation_picture": self.navigation_picture,
                "navigation_path_xy": [[round(x, 4), round(y, 4)] for x, y in self.navigation_path]}

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
        lines += self._navigation_markdown()
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

    def _navigation_markdown(self) -> list[str]:
        lines = ["## Navigate to goals", ""]
        if not self.navigation:
            return [*lines, "Not run (no goal: `--goals 0`, or the memory had found nothing to go to).", ""]
        reached = sum(g.reached for g in self.navigation)
        lines += [
            "Goals are objects the memory found in stage 2. The planner (`planners.navigator`) asks the memory "
            "where each is, plans A* on the memory's traversability grid and drives there by `MOVE_TO` "
            "segments that the simulator checks against its geometry (no teleport); every view on the way "
            "goes through perception into the memory. A goal counts as reached when the planner verified it "
            f"by looking at it and the agent stopped within {NAV_SUCCESS_M:g} m (floor plane) of the object "
            "(the simulator's truth scores it; it never feeds the planner). The path is what the agent "
            "travelled.", "",
            f"**{reached} of {len(self.navigation)} goals reached**, "
            f"{sum(g.path_m for g in self.navigation):.1f} m travelled in "
            f"{sum(g.seconds for g in self.navigation):.0f} s.", "",
            "| # | goal | reached | planner's stop | path m | actions | views | seconds | stop (x, y) m | "
            "distance to the object m |",
            "| ---: | --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: |",
            *(f"| {i} | {g.goal} | {'yes' if g.reached else '**no**'} | {g.planner.stop_reason} | {g.path_m:.2f} | "
              f"{g.planner.actions} | {g.views} | {g.seconds:.1f} | {g.planner.end_xy[0]:.2f}, "
              f"{g.planner.end_xy[1]:.2f} | {g.distance_m:.2f} |" for i, g in enumerate(self.navigation, start=1)), ""]
        if self.navigation_picture:
            caption = "the path travelled, numbered where each goal was reached or given up, over the places"
            lines += [f"![{caption}]({self.navigation_picture})", "", f"*{caption}*", ""]
        return lines
