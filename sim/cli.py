"""``mem3d sim``: render a frame, save a scene, record an episode, or stream a tour.

    mem3d sim render --scene 0 --out frame.png          RGB | depth | semantic side by side
    mem3d sim scene  --scene 3 --out scenes/apt3        save a procedural scene (manifest + meshes)
    mem3d sim record --scene 0 --out ep.zarr --steps 100 [--rearrange-at 50 --fraction 0.3]
    mem3d sim serve --scene 0 --publish tcp://127.0.0.1:5560 [--rate 5 --rounds 2 --rearrange 0.3]
                                                        tour and stream observations, like a robot

``--scene`` takes a seed, a saved scene directory, a Replica directory or an HM3D *.semantic.glb.
The simulator's benchmark is ``mem3d bench sim``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from mem3d.comms.endpoints import DEFAULT_OBSERVATIONS
from mem3d.errors import InvalidInputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    render = sub.add_parser("render", help="write RGB | depth | semantic side by side to an image")
    _scene_and_camera(render)
    render.add_argument("--out", required=True, help="output image (.png or .jpg)")
    render.add_argument("--pose", nargs=3, type=float, metavar=("X", "Y", "YAW_DEG"),
                        help="agent pose (default: a start pose drawn from --seed)")
    scene = sub.add_parser("scene", help="save a scene (e.g. a procedural apartment) to a directory")
    scene.add_argument("--scene", default="0", help="seed or scene path (default 0)")
    scene.add_argument("--out", required=True, help="directory to write manifest.json and meshes/ into")
    record = sub.add_parser("record", help="record an episode (observations + ground truth) to zarr")
    _scene_and_camera(record)
    record.add_argument("--out", required=True, help="episode directory (zarr v3), e.g. ep.zarr")
    record.add_argument("--steps", type=int, default=100, help="number of actions (default 100)")
    record.add_argument("--rearrange-at", type=int, default=None, metavar="STEP",
                        help="move small objects to furniture in other rooms at this step")
    record.add_argument("--fraction", type=float, default=0.3, help="share of small objects moved")
    record.add_argument("--overwrite", action="store_true", help="replace an existing episode")
    serve = sub.add_parser("serve", help="tour the scene and publish its observations over ZeroMQ")
    _scene_and_camera(serve)
    serve.add_argument("--publish", default=DEFAULT_OBSERVATIONS, help="XPUB endpoint to bind")
    serve.add_argument("--rate", type=float, default=5.0, help="observations per second (0 = max)")
    serve.add_argument("--rounds", type=int, default=1, help="tours of the apartment")
    serve.add_argument("--rearrange", type=float, default=0.0, metavar="FRACTION",
                       help="move this share of small objects to other rooms before each later round")


def _scene_and_camera(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scene", default="0", help="seed, scene directory, Replica directory or HM3D glb")
    parser.add_argument("--config", help="YAML file with SimConfig values (camera, agent, apartment, ...)")
    parser.add_argument("--seed", type=int, default=0, help="episode seed: start pose, noise (default 0)")
    parser.add_argument("--width", type=int, help="image width in pixels")
    parser.add_argument("--height", type=int, help="image height in pixels")
    parser.add_argument("--hfov", type=float, help="horizontal field of view, degrees")
    parser.add_argument("--camera-height", type=float, help="camera height above the floor, metres")
    parser.add_argument("--tilt", type=float, help="camera tilt, degrees (positive looks up)")
    parser.add_argument("--depth-noise", type=float, help="depth noise std at 1 m, metres")
    parser.add_argument("--missing", type=float, help="fraction of depth pixels dropped")


def _config(args: argparse.Namespace):
    from sim.config import SimConfig

    config = SimConfig()
    if args.config:
        config = SimConfig.from_yaml(args.config)
    overrides = {"width": args.width, "height": args.height, "hfov_deg": args.hfov,
                 "height_m": args.camera_height, "tilt_deg": args.tilt, "depth_noise_std_m": args.depth_noise,
                 "depth_missing_fraction": args.missing}
    camera = replace(config.camera, **{k: v for k, v in overrides.items() if v is not None})
    return replace(config, camera=camera, seed=args.seed)


def color_ids(ids: np.ndarray) -> np.ndarray:
    """A stable colour per id (0 = black), (H, W, 3) uint8 RGB."""
    hashed = (ids.astype(np.uint64) * np.uint64(2654435761)) & np.uint64(0xFFFFFF)
    rgb = np.stack([(hashed >> np.uint64(s)) & np.uint64(255) for s in (16, 8, 0)], axis=-1).astype(np.uint8)
    rgb[ids == 0] = 0
    return rgb


def color_depth(depth: np.ndarray) -> np.ndarray:
    """Depth in metres as an RGB colour map (near = warm, invalid = black), (H, W, 3) uint8."""
    import cv2

    valid = depth > 0
    top = float(depth[valid].max()) if valid.any() else 1.0
    scaled = np.clip(255 - depth / top * 255, 0, 255).astype(np.uint8)
    rgb = cv2.applyColorMap(scaled, cv2.COLORMAP_TURBO)[..., ::-1].copy()
    rgb[~valid] = 0
    return rgb


def render_panel(obs) -> np.ndarray:
    """RGB | depth | semantic side by side, (H, 3W, 3) uint8 RGB."""
    semantic = obs.semantic if obs.semantic is not None else np.zeros(obs.depth.shape, np.int32)
    return np.hstack([obs.rgb, color_depth(obs.depth), color_ids(semantic)])


def _render(args: argparse.Namespace) -> int:
    import cv2

    from sim.agent import AgentState
    from sim.embedded import EmbeddedSimSource

    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise InvalidInputError(f"--out must end in .png or .jpg, got {out.name}")
    source = EmbeddedSimSource.from_spec(args.scene, _config(args))
    obs = source.reset(args.seed)
    if args.pose is not None:
        x, y, yaw = args.pose
        source.set_state(AgentState(x, y, float(np.deg2rad(yaw)), source.state.tilt))
        obs = source.observe()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), render_panel(obs)[..., ::-1]):
        raise InvalidInputError(f"could not write {out}")
    state = source.state
    print(json.dumps({"out": str(out), "pose": [round(state.x, 3), round(state.y, 3),
                                                round(float(np.rad2deg(state.yaw)), 1)],
                      "visible": sorted(obs.labels.values())}))
    return 0


def _record(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sim.dynamics import Rearrangement
    from sim.embedded import EmbeddedSimSource
    from sim.episode import record_episode

    if args.steps < 0:
        raise InvalidInputError(f"--steps must be >= 0, got {args.steps}")
    config = _config(args)  # checks --seed
    events = [] if args.rearrange_at is None else [Rearrangement(args.rearrange_at, args.fraction, args.seed)]
    source = EmbeddedSimSource.from_spec(args.scene, config, events)
    with tqdm(total=args.steps, desc=f"recording {args.out}", unit="step", disable=None, file=sys.stderr) as bar:
        path = record_episode(source, args.out, args.steps, seed=args.seed, overwrite=args.overwrite,
                              on_step=bar.update)
    print(json.dumps({"episode": str(path), "frames": args.steps + 1, "changes": len(source.dynamics.changes)}))
    return 0


def _serve(args: argparse.Namespace) -> int:
    import logging

    from sim.embedded import EmbeddedSimSource
    from sim.server import StreamConfig, stream_tours

    logging.basicConfig(level="INFO", stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    if args.rounds < 1 or not 0.0 <= args.rearrange <= 1.0 or args.rate < 0:
        raise InvalidInputError("need --rounds >= 1, --rate >= 0 and --rearrange in [0, 1]")
    source = EmbeddedSimSource.from_spec(args.scene, _config(args))
    config = StreamConfig(args.publish, args.rate, args.rounds, args.rearrange)
    print(json.dumps({"ready": True, "publish": args.publish}), flush=True)
    sent = stream_tours(source, config)
    print(json.dumps({"observations": sent, "changes": len(source.dynamics.changes)}), flush=True)
    return 0


def _scene(args: argparse.Namespace) -> int:
    from sim.scene_io import load_scene, save_scene

    path = save_scene(load_scene(args.scene), args.out)
    print(json.dumps({"manifest": str(path)}))
    return 0


ACTIONS = {"render": _render, "scene": _scene, "record": _record, "serve": _serve}


def run(args: argparse.Namespace) -> int:
    return ACTIONS[args.action](args)
