"""Record an episode (observations + ground truth) to a zarr v3 directory, and replay it as a ``Source``.

Layout of ``episode.zarr``: arrays ``rgb`` (N, H, W, 3) uint8, ``depth`` (N, H, W) float32 metres,
``semantic`` / ``instance`` (N, H, W) int32, ``T_world_camera`` (N, 4, 4) float64, ``stamp`` (N,) float64,
``obs_id`` (N,) int64; ground truth rows ``gt_frame`` (R,) int64, ``gt_instance`` (R,) int32, ``gt_pose``
(R, 4, 4) float64 (every object's ``T_world_object`` at every frame); attributes: intrinsics, the category table and
the categories' descriptions, object labels, actions and their results, the change log, and ``n_frames``
(written last, so a half-written episode is recognisable).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mem3d.errors import EndOfStreamError, StoreError
from mem3d.source import Action, ActionKind, ActionResult
from mem3d.types import CameraIntrinsics, Observation
from sim.config import non_negative_int

FORMAT = "mem3d-episode"
FORMAT_VERSION = 1
_GROW = 64  # frames (ground-truth rows: x 64) added at a time when an array fills up
_BATCH = 16  # frames buffered in memory between writes
_FRAME_ARRAYS = (("rgb", np.uint8, (3,)), ("depth", np.float32, ()), ("semantic", np.int32, ()),
                 ("instance", np.int32, ()))


class EndOfEpisodeError(EndOfStreamError):
    """A replay was asked for an observation past the end of its recording."""


class EpisodeWriter:
    """Appends observations and ground truth to a new zarr v3 directory."""

    def __init__(self, path: str | Path, intrinsics: CameraIntrinsics, overwrite: bool = False):
        import zarr

        self.path = Path(path)
        if self.path.exists():
            if not overwrite:
                raise StoreError(f"{self.path} already exists (pass overwrite=True, or --overwrite on the "
                                 "command line, to replace it)")
            shutil.rmtree(self.path)
        self.group = zarr.open_group(str(self.path), mode="w", zarr_format=3)
        h, w = intrinsics.height, intrinsics.width
        self.arrays = {name: self.group.create_array(name, shape=(0, h, w, *tail), chunks=(1, h, w, *tail),
                                                     dtype=dtype) for name, dtype, tail in _FRAME_ARRAYS}
        for name, dtype, tail in (("T_world_camera", np.float64, (4, 4)), ("stamp", np.float64, ()),
                                  ("obs_id", np.int64, ()), ("gt_frame", np.int64, ()),
                                  ("gt_instance", np.int32, ()), ("gt_pose", np.float64, (4, 4))):
            self.arrays[name] = self.group.create_array(name, shape=(0, *tail), chunks=(256, *tail), dtype=dtype)
        self.intrinsics = intrinsics
        self.n_frames = 0
        self._pending: dict[str, list[np.ndarray]] = {}
        self._written: dict[str, int] = {}
        self.group.attrs.update({"format": FORMAT, "version": FORMAT_VERSION, "intrinsics": {
            "fx": intrinsics.fx, "fy": intrinsics.fy, "cx": intrinsics.cx, "cy": intrinsics.cy,
            "width": intrinsics.width, "height": intrinsics.height}})

    def _put(self, name: str, values: np.ndarray) -> None:
        self._pending.setdefault(name, []).append(values)

    def _flush(self) -> None:
        """Write the buffered rows, growing arrays by whole blocks (few metadata writes, batched chunks)."""
        for name, parts in self._pending.items():
            values = np.concatenate(parts)
            array = self.arrays[name]
            row = self._written.get(name, 0)
            end = row + len(values)
            if end > array.shape[0]:
                array.resize((max(end, array.shape[0] + _GROW * (1 + 63 * name.startswith("gt_"))),
                              *array.shape[1:]))
            array[row:end] = values
            self._written[name] = end
        self._pending = {}

    def append(self, obs: Observation, truth: Iterable[tuple[int, np.ndarray]] = ()) -> None:
        """Buffer one observation and the (instance id, 4x4 ``T_world_object``) of every object at that moment."""
        obs.validate()
        if obs.intrinsics != self.intrinsics:
            raise StoreError("all observations of an episode must share the intrinsics")
        for name, dtype, _ in _FRAME_ARRAYS:
            value = getattr(obs, name)
            if value is None:
                value = np.zeros(self.arrays[name].shape[1:], dtype=dtype)
            self._put(name, np.asarray(value, dtype=dtype)[None])
        self._put("T_world_camera", obs.T_world_camera[None].astype(np.float64))
        self._put("stamp", np.array([obs.stamp], dtype=np.float64))
        self._put("obs_id", np.array([obs.obs_id], dtype=np.int64))
        rows = list(truth)
        if rows:
            self._put("gt_frame", np.full(len(rows), self.n_frames, dtype=np.int64))
            self._put("gt_instance", np.array([i for i, _ in rows], dtype=np.int32))
            self._put("gt_pose", np.stack([p for _, p in rows]).astype(np.float64))
        self.n_frames += 1
        if self.n_frames % _BATCH == 0:
            self._flush()

    def finish(self, **attrs: Any) -> Path:
        """Write what is buffered, trim the arrays, then store the attributes (JSON values) and the frame
        count; returns the episode path."""
        self._flush()
        for name, array in self.arrays.items():
            array.resize((self._written.get(name, 0), *array.shape[1:]))
        self.group.attrs.update({**attrs, "n_frames": self.n_frames})
        return self.path


@dataclass(frozen=True)
class RandomWalk:
    """A random walk: forward until blocked, then turn a random number of steps; deterministic per seed."""

    seed: int = 0

    def actions(self) -> Callable[[ActionResult | None], Action]:
        rng = np.random.default_rng(self.seed)
        turns: list[ActionKind] = []

        def next_action(last: ActionResult | None) -> Action:
            if turns:
                return Action(turns.pop())
            if last is not None and not last.success:
                turns.extend([ActionKind.TURN_LEFT if rng.random() < 0.5 else ActionKind.TURN_RIGHT]
                             * int(rng.integers(2, 9)))
                return Action(turns.pop())
            return Action(ActionKind.MOVE_FORWARD if rng.random() < 0.8 else ActionKind.TURN_LEFT)
        return next_action


def record_episode(source, path: str | Path, n_steps: int, seed: int = 0,
                   actions: Iterable[Action] | None = None, overwrite: bool = False,
                   on_step: Callable[[], None] | None = None) -> Path:
    """Run ``source`` (an ``EmbeddedSimSource``) for ``n_steps`` actions after ``reset(seed)`` and record
    every observation with ground truth. Without ``actions``, a seeded random walk drives the agent.
    ``on_step`` is called after each recorded step (a progress bar).

    Nothing is written before the episode has started; if recording fails, the partial directory is removed.
    """
    non_negative_int(n_steps, "the number of steps")
    first = source.reset(seed)
    writer = EpisodeWriter(path, source.intrinsics, overwrite)
    try:
        return _record(source, writer, first, n_steps, seed, actions, on_step)
    except BaseException:
        shutil.rmtree(writer.path, ignore_errors=True)
        raise


def _record(source, writer: EpisodeWriter, first: Observation, n_steps: int, seed: int,
            actions: Iterable[Action] | None, on_step: Callable[[], None] | None) -> Path:
    """Act, observe and append until ``n_steps`` actions are done (or ``actions`` run out); then finish."""
    objects: dict[str, dict[str, str]] = {}

    def append(obs: Observation) -> None:
        objects.update({str(o.instance_id): {"label": o.label, "kind": o.kind.value}
                        for o in source.scene.labelled_objects()})
        writer.append(obs, [(t.instance_id, t.T_world_object) for t in source.truth.objects()])

    append(first)
    chooser = RandomWalk(seed).actions()
    planned = iter(actions) if actions is not None else None
    taken, results, last = [], [], None
    for _ in range(n_steps):
        action = next(planned, None) if planned is not None else chooser(last)
        if action is None:
            break
        last = source.act(action)
        taken.append([action.kind.value, list(action.target) if action.target else None])
        results.append([last.success, last.message])
        append(source.observe())
        if on_step is not None:
            on_step()
    changes = [{"stamp": c.stamp, "step": c.step, "kind": c.event.kind, "instance_id": c.event.instance_id,
                "label": c.event.label, "from_room": c.event.from_room, "to_room": c.event.to_room}
               for c in source.dynamics.changes]
    descriptions = {str(i): text for i, text in source.scene.description_of_semantic().items()}
    return writer.finish(categories=dict(source.scene.categories), descriptions=descriptions, objects=objects,
                         actions=taken, action_results=results, changes=changes, episode_seed=seed,
                         scene_seed=source.scene.seed)


class ReplaySource:
    """Plays a recorded episode back: ``reset`` returns the first frame, each ``observe`` the next one."""

    def __init__(self, path: str | Path):
        import zarr

        self.path = Path(path)
        if not self.path.is_dir():
            raise StoreError(f"episode {self.path} does not exist")
        try:
            self.group = zarr.open_group(str(self.path), mode="r")
        except Exception as error:  # zarr raises several types for a non-zarr directory
            raise StoreError(f"{self.path} is not a zarr episode: {error}") from None
        attrs = dict(self.group.attrs)
        if attrs.get("format") != FORMAT or "n_frames" not in attrs:
            raise StoreError(f"{self.path} is not a complete mem3d episode (format or n_frames missing)")
        self.attrs = attrs
        self.intrinsics = CameraIntrinsics(**attrs["intrinsics"])
        self.n_frames = int(attrs["n_frames"])
        self.labels = {int(v): k for k, v in attrs.get("categories", {}).items()}
        self.descriptions = {int(k): v for k, v in attrs.get("descriptions", {}).items()}
        self._gt_frame = self.group["gt_frame"][:]
        self._index = -1

    def __len__(self) -> int:
        return self.n_frames

    def frame(self, index: int) -> Observation:
        """Observation ``index`` of the recording, exactly as it was recorded."""
        if self.group is None:
            raise StoreError(f"replay of {self.path} is closed")
        if not 0 <= index < self.n_frames:
            raise EndOfEpisodeError(f"frame {index} is outside the episode's {self.n_frames} frames")
        arrays = {name: self.group[name][index] for name, _, _ in _FRAME_ARRAYS}
        present = [int(i) for i in np.unique(arrays["semantic"]) if i]
        return Observation(arrays["rgb"], arrays["depth"], self.intrinsics,
                           self.group["T_world_camera"][index], float(self.group["stamp"][index]),
                           int(self.group["obs_id"][index]), arrays["semantic"], arrays["instance"],
                           {i: self.labels.get(i, "") for i in present},
                           {i: self.descriptions[i] for i in present if i in self.descriptions})

    def truth(self, index: int) -> dict[int, np.ndarray]:
        """Instance id -> 4x4 ``T_world_object`` of every object at frame ``index``."""
        rows = np.nonzero(self._gt_frame == index)[0]
        if len(rows) == 0:
            return {}
        ids = self.group["gt_instance"][rows[0]:rows[-1] + 1]
        poses = self.group["gt_pose"][rows[0]:rows[-1] + 1]
        return {int(i): p for i, p in zip(ids, poses)}

    def reset(self, seed: int | None = None) -> Observation:
        """Rewind to the first frame (``seed`` is ignored: a recording has one episode)."""
        self._index = 0
        return self.frame(0)

    def observe(self) -> Observation:
        """The next recorded frame; raises ``EndOfEpisodeError`` after the last one."""
        self._index += 1
        return self.frame(self._index)

    @property
    def finished(self) -> bool:
        return self._index >= self.n_frames - 1

    def act(self, action: Action) -> ActionResult:
        return ActionResult(False, "a recorded episode cannot act")

    def close(self) -> None:
        self.group = None
