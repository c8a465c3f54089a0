"""``mem3d query STORE "text" ["text" ...]``: where is something? Answered offline from a saved store.

    mem3d query runs/demo/store "white mug" "sofa"          a table per query
    mem3d query STORE "sofa" --json                         the same answers as JSON
    mem3d query STORE "sofa" --image sofa.png               and a top-down picture with the heatmap

Every text is answered from one load of the map and of its text encoder (label-minilm maps: MiniLM
in numpy, no torch). Columns: rank, score (cosine), position (centroid, world metres), extent (box
size, metres), voxels, place, last seen (stamp, s), and the supporting evidence: the keyframe that
shows the candidate when the store has one, else the observation of its latest sighting.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mem3d.apps.offline import Evidence, evidence_for, open_view, place_layer, text_encoder_for
from mem3d.errors import InvalidInputError, NotAvailableError
from mem3d.query.terms import query_terms, text_embedding
from mem3d.types import Candidate, LocalizeResult

HEAT_BELOW_THRESHOLD = 0.15
"""The heatmap shows cells down to this much below the match threshold."""


@dataclass(frozen=True)
class CandidateRow:
    """One line of the answer (world frame, metres; stamps in seconds)."""

    rank: int
    score: float
    position: tuple[float, float, float]
    extent: tuple[float, float, float]
    n_voxels: int
    place: str | None
    last_seen: float
    first_seen: float
    obs_id: int
    keyframe: int | None
    bbox_min: tuple[float, float, float]
    bbox_max: tuple[float, float, float]

    @classmethod
    def of(cls, rank: int, candidate: Candidate, evidence: Evidence) -> CandidateRow:
        extent = tuple(round(hi - lo, 3) for lo, hi in zip(candidate.bbox_min, candidate.bbox_max))
        return cls(rank, round(candidate.score, 3), _round3(candidate.centroid), extent, candidate.n_voxels,
                   evidence.place, round(candidate.last_seen, 3), round(candidate.first_seen, 3),
                   candidate.obs_id, evidence.keyframe, _round3(candidate.bbox_min), _round3(candidate.bbox_max))

    @property
    def seen_in(self) -> str:
        return f"keyframe {self.keyframe}" if self.keyframe is not None else f"obs {self.obs_id}"


@dataclass(frozen=True)
class QueryAnswer:
    text: str
    found: bool
    threshold: float
    n_matching_voxels: int
    candidates: tuple[CandidateRow, ...]
    seconds: float
    """Embedding plus search, wall clock."""


def _round3(values) -> tuple[float, float, float]:
    return tuple(round(float(v), 3) for v in values)


def answer(view, encoder, text: str, top_k: int, threshold: float | None
           ) -> tuple[QueryAnswer, LocalizeResult, np.ndarray]:
    """Embed ``text`` and localize it in ``view``'s map: the answer, the raw result, the (D,) embedding."""
    started = time.perf_counter()
    terms = query_terms(encoder, text)  # as the service decides; first, so a common name's row is there
    embedding = text_embedding(encoder, text)
    if threshold is None:  # as the service answers text queries: the encoder's calibrated threshold
        threshold = encoder.info.match_threshold
    result = view.voxel_map.localize(embedding, top_k=top_k, threshold=threshold, terms=terms)
    rows = tuple(CandidateRow.of(rank, c, evidence_for(view, c)) for rank, c in enumerate(result.candidates, 1))
    return QueryAnswer(text, result.found, round(result.threshold, 3), result.n_matching_voxels, rows,
                       round(time.perf_counter() - started, 4)), result, embedding


HEADER = ("#", "score", "position x, y, z (m)", "extent x × y × z (m)", "voxels", "place", "last seen",
          "seen in")


def table(answer: QueryAnswer) -> str:
    """The readable form of one answer: a title line, then one aligned row per candidate."""
    if not answer.found:
        return (f'"{answer.text}": not found (no voxel reaches the match threshold {answer.threshold:.2f}): '
                "explore")
    title = (f'"{answer.text}": {len(answer.candidates)} candidate(s), threshold {answer.threshold:.2f}, '
             f"{answer.n_matching_voxels:,} matching voxels, {answer.seconds * 1000:.0f} ms")
    rows = [HEADER] + [(str(r.rank), f"{r.score:.2f}", "{:6.2f}, {:6.2f}, {:5.2f}".format(*r.position),
                        "{:.2f} × {:.2f} × {:.2f}".format(*r.extent), str(r.n_voxels), r.place or "-",
                        f"{r.last_seen:.1f} s", r.seen_in) for r in answer.candidates]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = ["  ".join(cell.rjust(w) if i in (0, 1, 4) else cell.ljust(w) for i, (cell, w)
                       in enumerate(zip(row, widths))).rstrip() for row in rows]
    return "\n".join([title, *("  " + line for line in lines)])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="store directory (written by `mem3d serve` or `mem3d demo`)")
    parser.add_argument("texts", nargs="+", metavar="TEXT", help='what to look for, e.g. "white mug" "sofa"')
    parser.add_argument("--top-k", type=int, default=5, help="candidates per query (default: %(default)s)")
    parser.add_argument("--threshold", type=float,
                        help="cosine a voxel must reach to match (default: the encoder's calibrated one, "
                             "as the service uses)")
    parser.add_argument("--json", action="store_true", help="print the answers as JSON instead of tables")
    parser.add_argument("--image", metavar="OUT.png",
                        help="write a top-down picture per query: floor colours, similarity heatmap, numbered "
                             "candidates, numbered places and their edges, legend, scale bar (several queries: "
                             "OUT-2.png, OUT-3.png, ...)")
    parser.add_argument("--keyframe", metavar="OUT.png",
                        help="write the best candidate's supporting keyframe with its outline "
                             "(needs a store with keyframes)")


def image_paths(image: str | None, count: int) -> list[Path | None]:
    """Where each query's picture goes: ``image`` for the first, ``stem-N.png`` for the N-th."""
    if image is None:
        return [None] * count
    path = Path(image)
    if path.suffix.lower() != ".png":
        raise InvalidInputError(f"--image is written as PNG: give a path ending in .png, got {path.name}")
    return [path if i == 0 else path.with_name(f"{path.stem}-{i + 1}{path.suffix}") for i in range(count)]


def run(args: argparse.Namespace) -> int:
    if args.top_k < 1:
        raise InvalidInputError(f"--top-k must be >= 1, got {args.top_k}")
    images = image_paths(args.image, len(args.texts))
    if args.keyframe is not None and Path(args.keyframe).suffix.lower() != ".png":
        raise InvalidInputError(f"--keyframe is written as PNG: give a path ending in .png, got {args.keyframe}")
    started = time.perf_counter()
    view = open_view(args.store)
    config = view.voxel_map.config
    opened = time.perf_counter()
    encoder = text_encoder_for(config.feature_model, config.feature_dim)
    loaded = time.perf_counter()
    answers = []
    for text, image in zip(args.texts, images):
        reply, result, embedding = answer(view, encoder, text, args.top_k, args.threshold)
        answers.append(reply)
        if image is not None:
            from mem3d.apps.drawing import write_png

            write_png(image, query_picture(view, text, result, embedding).image)
    if args.keyframe is not None:
        write_keyframe(view, answers[0], args.keyframe)
    timing = {"open_s": round(opened - started, 3), "encoder_load_s": round(loaded - opened, 3),
              "queries_s": [a.seconds for a in answers]}
    if args.json:
        print(json.dumps({"store": str(args.store), "seq": view.seq, "n_voxels": len(view.voxel_map),
                          "feature_model": config.feature_model,
                          "answers": [asdict(a) for a in answers], "images": [str(p) for p in images if p],
                          "timing": timing}))
    else:
        print("\n\n".join(table(a) for a in answers))
        for path in images:
            if path is not None:
                print(f"picture: {path}")
    return 0


def write_keyframe(view, reply: QueryAnswer, path: str) -> None:
    """The keyframe that supports the best candidate of ``reply``, its box outlined, as a PNG."""
    from mem3d.apps.drawing import keyframe_outline, write_png
    from mem3d.episodic.images import decode_rgb

    if not reply.candidates or reply.candidates[0].keyframe is None:
        raise NotAvailableError(f'no keyframe shows the best candidate for "{reply.text}" (the store keeps '
                                "keyframes with its episodic memory; a candidate far from every remembered "
                                "instance has none)")
    best = reply.candidates[0]
    memory = view.episodic
    keyframe = memory.keyframes[best.keyframe]
    rgb_jpeg = memory.keyframe_images(best.keyframe).rgb_jpeg
    if not rgb_jpeg:
        raise NotAvailableError(f"keyframe {best.keyframe} was kept without its image (no opencv when it was made)")
    rgb = decode_rgb(rgb_jpeg)
    intrinsics = keyframe.intrinsics
    if rgb.shape[:2] != (intrinsics.height, intrinsics.width):  # the image may be binned
        intrinsics = intrinsics.binned(intrinsics.width // rgb.shape[1])
    write_png(path, keyframe_outline(rgb, keyframe.T_world_camera, intrinsics, best.bbox_min, best.bbox_max,
                                     f"1: {reply.text}"))
    print(f"keyframe {best.keyframe}: {path}", file=sys.stderr)


def query_picture(view, text: str, result: LocalizeResult, embedding: np.ndarray):
    """The top-down ``drawing.Picture`` of one query: floor colours, heatmap, numbered candidates,
    the store's numbered places and their edges."""
    from mem3d.apps.drawing import draw_top_down

    voxel_map = view.voxel_map
    columns = voxel_map.contents().columns
    rows, scores = voxel_map.similarity(embedding, result.threshold - HEAT_BELOW_THRESHOLD)
    similarity = np.full(len(columns["position"]), -1.0, np.float32)
    similarity[rows] = scores
    return draw_top_down(columns["position"], columns["color"], voxel_map.voxel_size,
                         title=f'where is the "{text}"?', similarity=similarity, threshold=result.threshold,
                         candidates=result.candidates, places=place_layer(view))
