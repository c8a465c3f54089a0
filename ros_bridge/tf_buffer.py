"""A transform tree over time, without ROS: static and time-stamped edges, chained and interpolated.

Edges come from ``tf2_msgs/TFMessage`` (``/tf``, ``/tf_static``) or from pose topics. A lookup finds
the path between two frames in the tree (edges may be walked backwards) and interpolates each dynamic
edge at the stamp (linear translation, slerp rotation). A stamp outside an edge's recorded span is
served by its nearest sample when within ``extrapolation_s``, else the lookup fails with a message.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from mem3d.errors import Mem3dError
from ros_bridge.convert.transforms import interpolate


class TransformError(Mem3dError):
    """No transform between two frames at a stamp (unknown frame, no path, or out of the recorded time)."""


@dataclass
class _Edge:
    stamps: list[float] = field(default_factory=list)
    transforms: list[np.ndarray] = field(default_factory=list)
    static: np.ndarray | None = None


class TransformBuffer:
    """``T_parent_child`` edges by (parent, child); ``lookup(target, source, stamp) -> T_target_source``."""

    def __init__(self, extrapolation_s: float = 0.05, cache_s: float = float("inf")) -> None:
        self.extrapolation_s = extrapolation_s
        self.cache_s = cache_s
        """Time-stamped transforms older than this (s) before an edge's newest are dropped (a live
        stream's buffer stays bounded; tf2 keeps 10 s); static ones are kept."""
        self._edges: dict[tuple[str, str], _Edge] = {}
        self._neighbours: dict[str, set[str]] = {}

    @property
    def frames(self) -> set[str]:
        return set(self._neighbours)

    def __len__(self) -> int:
        return len(self._edges)

    def add(self, parent: str, child: str, T_parent_child: np.ndarray, stamp: float, static: bool = False) -> None:
        parent, child = parent.lstrip("/"), child.lstrip("/")
        edge = self._edges.get((parent, child))
        if edge is None:
            edge = self._edges[(parent, child)] = _Edge()
            self._neighbours.setdefault(parent, set()).add(child)
            self._neighbours.setdefault(child, set()).add(parent)
        if static:
            edge.static = np.asarray(T_parent_child, dtype=np.float64)
            return
        at = bisect.bisect(edge.stamps, stamp)
        edge.stamps.insert(at, float(stamp))
        edge.transforms.insert(at, np.asarray(T_parent_child, dtype=np.float64))
        old = bisect.bisect_left(edge.stamps, edge.stamps[-1] - self.cache_s)
        if old:
            del edge.stamps[:old], edge.transforms[:old]

    def root(self, frame: str) -> str:
        """The frame without a parent above ``frame``."""
        frame, parents = frame.lstrip("/"), {c: p for p, c in self._edges}
        seen = set()
        while frame in parents and frame not in seen:
            seen.add(frame)
            frame = parents[frame]
        return frame

    def lookup(self, target: str, source: str, stamp: float) -> np.ndarray:
        """``T_target_source`` at ``stamp`` (seconds)."""
        target, source = target.lstrip("/"), source.lstrip("/")
        if target == source:
            return np.eye(4)
        for frame in (target, source):
            if frame not in self._neighbours:
                known = ", ".join(sorted(self._neighbours)) or "none"
                raise TransformError(f"no transform from {target} to {source}: frame {frame!r} is not in the TF "
                                     f"tree (known frames: {known})")
        T = np.eye(4)
        path = self._path(target, source)
        for a, b in zip(path, path[1:]):
            T = T @ self._hop(a, b, stamp, target, source)
        return T

    def _path(self, target: str, source: str) -> list[str]:
        previous = {target: target}
        queue = deque([target])
        while queue:
            frame = queue.popleft()
            if frame == source:
                break
            for nxt in self._neighbours[frame]:
                if nxt not in previous:
                    previous[nxt] = frame
                    queue.append(nxt)
        if source not in previous:
            raise TransformError(f"no transform from {target} to {source}: the frames are in unconnected TF trees "
                                 f"(roots {self.root(target)} and {self.root(source)})")
        path = [source]
        while path[-1] != target:
            path.append(previous[path[-1]])
        return path[::-1]

    def _hop(self, a: str, b: str, stamp: float, target: str, source: str) -> np.ndarray:
        if (a, b) in self._edges:
            return self._sample(self._edges[(a, b)], stamp, a, b, target, source)
        return np.linalg.inv(self._sample(self._edges[(b, a)], stamp, b, a, target, source))

    def _sample(self, edge: _Edge, stamp: float, parent: str, child: str, target: str, source: str) -> np.ndarray:
        if edge.static is not None:
            return edge.static
        stamps = edge.stamps
        at = bisect.bisect_left(stamps, stamp)
        if at < len(stamps) and stamps[at] == stamp:
            return edge.transforms[at]
        if 0 < at < len(stamps):
            t0, t1 = stamps[at - 1], stamps[at]
            return interpolate(edge.transforms[at - 1], edge.transforms[at], (stamp - t0) / (t1 - t0))
        nearest = 0 if at == 0 else len(stamps) - 1
        if abs(stamps[nearest] - stamp) <= self.extrapolation_s:
            return edge.transforms[nearest]
        raise TransformError(f"no transform from {target} to {source} at t={stamp:.3f} s: {parent} -> {child} is "
                             f"known only from {stamps[0]:.3f} to {stamps[-1]:.3f} s")
