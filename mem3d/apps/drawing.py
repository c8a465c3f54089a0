"""Top-down pictures of a voxel map: the floor's colours, a query's similarity heatmap, numbered
candidates, numbered places and their edges, a travelled path, a legend and a metre scale bar
(numpy + opencv-headless).

The picture is drawn on a grid of square cells in the world's x-y plane (z up, metres): column = x
rising to the right, row = y rising upwards (north up, as on a plan). Each cell shows the colour of
the highest voxel in it below the ceiling cut, and the heatmap the best similarity of its voxels to
the query; cells are then scaled up by an integer factor so numbers and the legend stay legible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mem3d.types import Candidate

BACKGROUND = (245, 245, 245)
"""RGB of cells no voxel covers."""
CEILING_CUT_M = 1.9
"""Voxels higher than this above the floor (ceilings, lamps) are left out of the floor picture."""
TARGET_WIDTH_PX = 900
"""The map part is scaled up to about this width."""
LEGEND_WIDTH_PX = 260
HEAT_MAP = 20  # cv2.COLORMAP_TURBO: blue (low) to dark red (best), visible on the washed-out floor


@dataclass(frozen=True)
class TopDownGrid:
    """Cells of ``cell_m`` metres over the x-y plane; cell (row 0, col 0) is the north-west corner."""

    min_xy: tuple[float, float]
    """World x, y (metres) of the grid's south-west corner."""
    cell_m: float
    rows: int
    cols: int

    @classmethod
    def around(cls, positions: np.ndarray, cell_m: float, margin_m: float = 0.5) -> TopDownGrid:
        """The grid covering (N, 3) world ``positions`` with ``margin_m`` around them."""
        if len(positions) == 0:
            return cls((0.0, 0.0), cell_m, 1, 1)
        low = positions[:, :2].min(0) - margin_m
        high = positions[:, :2].max(0) + margin_m
        cols, rows = np.maximum(np.ceil((high - low) / cell_m).astype(int), 1)
        return cls((float(low[0]), float(low[1])), float(cell_m), int(rows), int(cols))

    def cells(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols) int arrays of the cells holding world points (N, >=2), clipped to the grid."""
        xy = np.atleast_2d(np.asarray(xy, dtype=np.float64))
        col = np.floor((xy[:, 0] - self.min_xy[0]) / self.cell_m).astype(int)
        row = self.rows - 1 - np.floor((xy[:, 1] - self.min_xy[1]) / self.cell_m).astype(int)
        return np.clip(row, 0, self.rows - 1), np.clip(col, 0, self.cols - 1)


PLACE_RGB = (40, 120, 40)
"""Fill of a place's disc (its centre pixel has exactly this colour)."""
EDGE_RGB = (60, 140, 60)
TRAIL_RGB = (200, 30, 160)
"""The travelled path's line and its numbered stops."""
START_RGB = (60, 60, 60)


@dataclass(frozen=True)
class PlaceLayer:
    """Places (world x, y, metres) and the edges between them (pairs of indices into ``xy``); each
    place is drawn as a disc labelled with its name (the place's number)."""

    xy: np.ndarray
    edges: tuple[tuple[int, int], ...] = ()
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrailLayer:
    """A path the agent travelled: (N, 2) world x, y (metres) in order, and numbered stops on it
    (world x, y and what was reached there, e.g. the goal's name)."""

    xy: np.ndarray
    stops: tuple[tuple[tuple[float, float], str], ...] = ()

    @property
    def length_m(self) -> float:
        xy = np.asarray(self.xy, dtype=np.float64).reshape(-1, 2)
        return float(np.linalg.norm(np.diff(xy, axis=0), axis=1).sum())


@dataclass(frozen=True)
class Picture:
    image: np.ndarray
    """(H, W, 3) uint8 RGB: map, heatmap, marks, and the legend on the right."""
    grid: TopDownGrid
    scale: int
    """Image pixels per grid cell (the map part starts at pixel (0, 0))."""
    heat: np.ndarray | None
    """(rows, cols) float32 best similarity per cell, NaN where no voxel is; None without a query."""

    def pixel(self, xy: Sequence[float]) -> tuple[int, int]:
        """Image (u, v) of the centre of the cell holding world point ``xy``."""
        row, col = self.grid.cells(np.asarray(xy)[None, :2])
        return int((col[0] + 0.5) * self.scale), int((row[0] + 0.5) * self.scale)


def floor_colours(grid: TopDownGrid, positions: np.ndarray, colors: np.ndarray) -> np.ndarray:
    """(rows, cols, 3) uint8: per cell the colour of its highest voxel below the ceiling cut."""
    image = np.empty((grid.rows, grid.cols, 3), np.uint8)
    image[:] = BACKGROUND
    if len(positions) == 0:
        return image
    z = positions[:, 2]
    keep = z <= np.percentile(z, 1) + CEILING_CUT_M
    rows, cols = grid.cells(positions[keep])
    order = np.argsort(z[keep], kind="stable")  # later (higher) writes win
    image[rows[order], cols[order]] = colors[keep][order]
    return image


def cell_maximum(grid: TopDownGrid, positions: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(rows, cols) float32 largest of ``values`` per cell, NaN where no position falls."""
    best = np.full(grid.rows * grid.cols, -np.inf, np.float64)
    if len(positions):
        rows, cols = grid.cells(positions)
        np.maximum.at(best, rows * grid.cols + cols, values.astype(np.float64))
    best[np.isinf(best)] = np.nan
    return best.reshape(grid.rows, grid.cols).astype(np.float32)


def draw_top_down(positions: np.ndarray, colors: np.ndarray, cell_m: float, *, title: str = "",
                  similarity: np.ndarray | None = None, threshold: float | None = None,
                  candidates: Sequence[Candidate] = (), places: PlaceLayer | None = None,
                  trail: TrailLayer | None = None) -> Picture:
    """The top-down picture of voxels at (N, 3) world ``positions`` with (N, 3) uint8 RGB ``colors``.

    With ``similarity`` ((N,) cosine per voxel), cells whose best voxel reaches ``threshold`` minus
    0.15 are coloured by it (the colour bar shows the range), matches above ``threshold`` brightest;
    ``candidates`` are circled and numbered 1, 2, ... in rank order; ``places`` are numbered discs
    joined by their edges; ``trail`` is a line with its start and numbered stops."""
    import cv2

    grid = TopDownGrid.around(positions, cell_m)
    scale = max(1, TARGET_WIDTH_PX // grid.cols)
    base = floor_colours(grid, positions, colors).astype(np.float32)
    base = 0.55 * base + 0.45 * 255  # washed out, so the heat stands out
    heat, shown = None, None
    if similarity is not None:
        heat = cell_maximum(grid, positions, similarity)
        low = (threshold if threshold is not None else float(np.nanmax(heat, initial=0.0))) - 0.15
        high = max(float(np.nanmax(heat)) if np.isfinite(heat).any() else low + 0.15, low + 1e-3)
        shown = (low, high)
        visible = np.isfinite(heat) & (heat >= low)
        level = np.zeros(heat.shape, np.uint8)
        level[visible] = np.clip((heat[visible] - low) / (high - low) * 255, 0, 255).astype(np.uint8)
        hot = cv2.applyColorMap(level, HEAT_MAP)[..., ::-1].astype(np.float32)
        base[visible] = 0.15 * base[visible] + 0.85 * hot[visible]
    canvas = cv2.resize(base.astype(np.uint8), (grid.cols * scale, grid.rows * scale),
                        interpolation=cv2.INTER_NEAREST)
    picture = Picture(canvas, grid, scale, heat)
    if places is not None:
        _draw_places(canvas, picture, places)
    if trail is not None:
        _draw_trail(canvas, picture, trail)
    for rank, candidate in reversed(list(enumerate(candidates, start=1))):  # the best drawn last, on top
        _mark(canvas, picture, candidate, rank)
    _scale_bar(canvas, grid.cell_m / scale)
    legend = _legend(title, shown, threshold, candidates, places, trail)
    height = max(canvas.shape[0], legend.shape[0])
    image = np.full((height, canvas.shape[1] + LEGEND_WIDTH_PX, 3), 255, np.uint8)
    image[:canvas.shape[0], :canvas.shape[1]] = canvas
    image[:legend.shape[0], canvas.shape[1]:] = legend
    return Picture(image, grid, scale, heat)


def _text(image: np.ndarray, text: str, origin: tuple[int, int], size: float = 0.5,
          colour: tuple[int, int, int] = (20, 20, 20), thickness: int = 1) -> None:
    import cv2

    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, size, (255, 255, 255), thickness + 2, cv2.LINE_AA)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, size, colour, thickness, cv2.LINE_AA)


def _mark(canvas: np.ndarray, picture: Picture, candidate: Candidate, rank: int) -> None:
    """The candidate's box outline (a few pixels outside it, so the heat inside stays visible) and a
    numbered disc beside its north-east corner."""
    import cv2

    (u0, v1), (u1, v0) = picture.pixel(candidate.bbox_min), picture.pixel(candidate.bbox_max)
    pad = max(3, picture.scale // 2)
    cv2.rectangle(canvas, (u0 - pad, v0 - pad), (u1 + pad, v1 + pad), (0, 110, 230), 2)
    height, width = canvas.shape[:2]
    u = int(np.clip(u1 + pad + 12, 12, width - 12))
    v = int(np.clip(v0 - pad - 12, 12, height - 12))
    cv2.line(canvas, (u1 + pad, v0 - pad), (u, v), (0, 110, 230), 2, cv2.LINE_AA)
    _numbered_disc(canvas, (u, v), str(rank), (0, 90, 200))


def _numbered_disc(canvas: np.ndarray, centre: tuple[int, int], label: str, fill: tuple[int, int, int]) -> None:
    import cv2

    cv2.circle(canvas, centre, 10, fill, -1, cv2.LINE_AA)
    cv2.circle(canvas, centre, 10, (255, 255, 255), 2, cv2.LINE_AA)
    (w, h), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 2)
    cv2.putText(canvas, label, (centre[0] - w // 2, centre[1] + h // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                (255, 255, 255), 2, cv2.LINE_AA)


def _draw_places(canvas: np.ndarray, picture: Picture, places: PlaceLayer) -> None:
    import cv2

    points = [picture.pixel(xy) for xy in np.asarray(places.xy, dtype=np.float64).reshape(-1, 2)]
    for a, b in places.edges:
        cv2.line(canvas, points[a], points[b], EDGE_RGB, 2, cv2.LINE_AA)
    for point in points:
        cv2.circle(canvas, point, 5, PLACE_RGB, -1, cv2.LINE_AA)
    for point, name in zip(points, places.names):
        _text(canvas, name, (point[0] + 7, point[1] - 7), 0.5, (30, 90, 30))


def _draw_trail(canvas: np.ndarray, picture: Picture, trail: TrailLayer) -> None:
    """The path as a line (each stretch between two recorded positions), a disc "S" at its start and
    a numbered disc at each stop."""
    import cv2

    points = [picture.pixel(xy) for xy in np.asarray(trail.xy, dtype=np.float64).reshape(-1, 2)]
    for a, b in zip(points[:-1], points[1:]):
        cv2.line(canvas, a, b, TRAIL_RGB, 3, cv2.LINE_AA)
    if points:
        _numbered_disc(canvas, points[0], "S", START_RGB)
    for number, (xy, _) in enumerate(trail.stops, start=1):
        _numbered_disc(canvas, picture.pixel(xy), str(number), TRAIL_RGB)


def _scale_bar(canvas: np.ndarray, metres_per_px: float) -> None:
    """A bar of a round number of metres (about a sixth of the width) in the bottom-left corner."""
    import cv2

    width_m = canvas.shape[1] * metres_per_px / 6
    metres = max((m for m in (0.5, 1, 2, 5, 10, 20, 50) if m <= width_m), default=0.5)
    length = int(round(metres / metres_per_px))
    x0, y0 = 15, canvas.shape[0] - 15
    cv2.rectangle(canvas, (x0 - 4, y0 - 24), (x0 + length + 4, y0 + 6), (255, 255, 255), -1)
    cv2.line(canvas, (x0, y0), (x0 + length, y0), (0, 0, 0), 3)
    for x in (x0, x0 + length):
        cv2.line(canvas, (x, y0 - 6), (x, y0 + 3), (0, 0, 0), 2)
    _text(canvas, f"{metres:g} m", (x0, y0 - 9), 0.45)


def _legend(title: str, shown: tuple[float, float] | None, threshold: float | None,
            candidates: Sequence[Candidate], places: PlaceLayer | None, trail: TrailLayer | None = None
            ) -> np.ndarray:
    """The legend panel, LEGEND_WIDTH_PX wide and as tall as its contents."""
    import cv2

    stops = len(trail.stops) if trail is not None else 0
    panel = np.full((230 + 18 * (len(candidates) + stops + 1) + 24 * len(_wrap(title, 26)) + 110, LEGEND_WIDTH_PX, 3),
                    255, np.uint8)
    y = 24
    for line in _wrap(title or "top-down map", 26):
        _text(panel, line, (10, y), 0.55, thickness=1)
        y += 22
    _text(panel, "north up, x right", (10, y), 0.4, (90, 90, 90))
    y += 26
    if shown is not None:
        low, high = shown
        bar = np.linspace(255, 0, 120).astype(np.uint8)[:, None].repeat(18, 1)
        colours = cv2.applyColorMap(bar, HEAT_MAP)[..., ::-1]
        panel[y:y + 120, 12:30] = colours
        _text(panel, f"{high:.2f} best", (36, y + 10), 0.4)
        if threshold is not None:
            ty = y + int(round((high - threshold) / (high - low) * 119))
            cv2.line(panel, (8, ty), (34, ty), (0, 0, 0), 1)
            _text(panel, f"{threshold:.2f} match", (36, ty + 4), 0.4)
        _text(panel, f"{low:.2f}", (36, y + 120), 0.4)
        _text(panel, "similarity (cosine)", (10, y + 140), 0.4, (90, 90, 90))
        y += 165
    if candidates:
        _text(panel, "candidates", (10, y), 0.45)
        y += 20
        for rank, c in enumerate(candidates, start=1):
            _text(panel, f"{rank}  {c.score:.2f}  ({c.centroid[0]:.1f}, {c.centroid[1]:.1f})", (12, y), 0.42)
            y += 18
    elif shown is not None:
        _text(panel, "not found (below the match", (10, y), 0.42)
        _text(panel, "threshold): explore", (10, y + 18), 0.42)
        y += 36
    if places is not None:
        cv2.line(panel, (8, y + 10), (28, y + 10), EDGE_RGB, 2, cv2.LINE_AA)
        cv2.circle(panel, (18, y + 10), 5, PLACE_RGB, -1, cv2.LINE_AA)
        _text(panel, f"{len(places.names) or len(places.xy)} places (numbered),", (34, y + 8), 0.42)
        _text(panel, f"{len(places.edges)} edges (travelled)", (34, y + 24), 0.42)
        y += 40
    if trail is not None:
        cv2.line(panel, (8, y + 10), (28, y + 10), TRAIL_RGB, 3, cv2.LINE_AA)
        _text(panel, f"path travelled, {trail.length_m:.1f} m", (34, y + 14), 0.42)
        y += 22
        _text(panel, "S  start", (12, y + 14), 0.42, START_RGB)
        y += 18
        for number, (_, name) in enumerate(trail.stops, start=1):
            _text(panel, f"{number}  {name}"[:30], (12, y + 14), 0.42, TRAIL_RGB)
            y += 18
    return panel


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line] if line else lines


def keyframe_outline(rgb: np.ndarray, T_world_camera: np.ndarray, intrinsics, bbox_min, bbox_max,
                     label: str = "") -> np.ndarray:
    """A copy of a keyframe's (H, W, 3) RGB with the projection of a world box (min, max corners,
    metres) outlined: the image rectangle around its corners in front of the camera."""
    import cv2

    from mem3d.geometry import project, transform_points

    lo, hi = np.asarray(bbox_min, dtype=np.float64), np.asarray(bbox_max, dtype=np.float64)
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    camera = transform_points(np.linalg.inv(T_world_camera), corners)
    image = np.ascontiguousarray(rgb).copy()
    ahead = camera[:, 2] > 0.05
    if not ahead.any():
        return image
    u, v = project(intrinsics, camera[ahead, 0], camera[ahead, 1], camera[ahead, 2])
    height, width = image.shape[:2]
    u0, u1 = (int(np.clip(np.floor(u.min()), 0, width - 1)), int(np.clip(np.ceil(u.max()), 0, width - 1)))
    v0, v1 = (int(np.clip(np.floor(v.min()), 0, height - 1)), int(np.clip(np.ceil(v.max()), 0, height - 1)))
    cv2.rectangle(image, (u0, v0), (u1, v1), (230, 110, 0), 2)
    if label:
        _text(image, label, (u0, max(12, v0 - 4)), 0.45, (230, 110, 0))
    return image


def write_png(path, image: np.ndarray) -> None:
    """Write (H, W, 3) uint8 RGB ``image`` as PNG (parent folders created); ``InvalidInputError`` if it fails."""
    from pathlib import Path

    import cv2

    from mem3d.errors import InvalidInputError

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise InvalidInputError(f"the picture is written as PNG: give a path ending in .png, got {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.ascontiguousarray(image[..., ::-1])):
        raise InvalidInputError(f"could not write {path}")
