"""``mem3d ingest bag PATH --store DIR``: read a ROS 1 / ROS 2 bag into a memory store (no ROS needed).

Prints one JSON object (frames, frames/s, voxels, and every problem met, with counts); a progress bar
with frames/s and the time left goes to stderr. Exit status 0 when frames were ingested, 1 when the
bag gave none (its messages say why).
"""

from __future__ import annotations

import argparse
import json
import sys

from ros_bridge.topics import DEFAULT_TOPICS, CameraTopics


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    bag = sub.add_parser("bag", help="a ROS 1 .bag file or a ROS 2 bag directory (sqlite3 or MCAP)")
    bag.add_argument("path", help="the bag: a ROS 1 .bag file, or a ROS 2 bag directory (sqlite3 or MCAP)")
    bag.add_argument("--store", required=True, help="memory store directory (created if missing)")
    bag.add_argument("--encoder", default="", help="feature encoder (default: label-minilm when the bag has a "
                                                   "semantic segmentation, else open-clip)")
    for name in ("color", "depth", "camera_info", "semantic", "semantic_labels"):
        bag.add_argument(f"--{name.replace('_', '-')}-topic", dest=name,
                         help=f"{name} topic (default: detected; e.g. {getattr(DEFAULT_TOPICS, name)})")
    bag.add_argument("--pose-topic", default="", help="PoseStamped / Odometry topic with the camera pose "
                                                      "(default: /tf and /tf_static)")
    bag.add_argument("--world-frame", default="", help="fixed frame (default: map, odom or world, else the root)")
    bag.add_argument("--camera-frame", default="", help="camera optical frame (default: the colour header's)")
    bag.add_argument("--slop", type=float, default=0.02, help="colour / depth stamp difference allowed, s")
    bag.add_argument("--ignore-distortion", action="store_true", help="treat distorted images as pinhole")
    bag.add_argument("--samples", type=int, default=20_000, help="points per frame")
    bag.add_argument("--frames", type=int, help="stop after this many frames")


def _topics(args: argparse.Namespace) -> CameraTopics | None:
    given = {name: getattr(args, name) for name in ("color", "depth", "camera_info", "semantic", "semantic_labels")}
    if not any(given.values()):
        return None
    if not all(given[name] for name in ("color", "depth", "camera_info")):
        raise SystemExit("mem3d ingest: give --color-topic, --depth-topic and --camera-info-topic together")
    return CameraTopics(**{k: v or "" for k, v in given.items()})


def run(args: argparse.Namespace) -> int:
    from ros_bridge.bag.ingest import IngestConfig, ingest_bag
    from ros_bridge.bag.reader import BagConfig

    bag = BagConfig(topics=_topics(args), pose_topic=args.pose_topic, world_frame=args.world_frame,
                    camera_frame=args.camera_frame, slop_s=args.slop, ignore_distortion=args.ignore_distortion)
    result = ingest_bag(args.path, args.store, IngestConfig(bag=bag, encoder=args.encoder, n_samples=args.samples,
                                                             max_frames=args.frames), show_progress=True)
    for message in result.messages:
        print(f"mem3d ingest: {message}", file=sys.stderr)
    print(json.dumps(result.to_dict()), flush=True)
    return 0 if result.frames else 1
