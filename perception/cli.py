"""``mem3d perceive <action>``: perception commands.

Each action is a row of ``ACTIONS``: a function adding its options and one running it. ``bench`` and
``calibrate`` exist now. The action is optional on the command line, so the perception node can come
either as its own row (``mem3d perceive run --source ... --memory tcp://...``) or as top-level options
handled by ``run`` when no action is given (``mem3d perceive --source ... --memory tcp://...``),
without touching the other actions.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Action:
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    parser.add_argument("--frames", type=int, default=30, help="timed frames of the label path")
    parser.add_argument("--clip-frames", type=int, default=5, help="timed frames of the open_clip path")
    parser.add_argument("--clip-arch", default="ViT-B-32", help="open_clip architecture (random weights)")
    parser.add_argument("--input-long-side", type=int, default=448, help="open_clip input long side, px")
    parser.add_argument("--views", type=int, default=4, help="distinct synthetic views, cycled through")


def _bench(args: argparse.Namespace) -> int:
    from perception.bench import BenchConfig, run_benchmark

    config = BenchConfig(label_frames=max(1, args.frames), clip_frames=max(1, args.clip_frames),
                         views=max(1, args.views), clip_arch=args.clip_arch,
                         clip_input_long_side=args.input_long_side)
    print(json.dumps(run_benchmark(config), indent=None if args.json else 2))
    return 0


def _calibrate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--encoder", default="label-minilm", help="registry name of a text encoder")


def _calibrate(args: argparse.Namespace) -> int:
    from perception.calibration import calibrate
    from perception.encoders import create_encoder

    summary = calibrate(create_encoder(args.encoder)).summary()
    print(json.dumps({"encoder": args.encoder, **summary}))
    return 0


ACTIONS: dict[str, Action] = {
    "bench": Action("time observation -> feature frame for each encoder (prints JSON)",
                    _bench_arguments, _bench),
    "calibrate": Action("fit a text encoder's match threshold on household synonyms (prints JSON)",
                        _calibrate_arguments, _calibrate),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    for name, action in ACTIONS.items():
        action.add_arguments(sub.add_parser(name, help=action.help, description=action.help))


def run(args: argparse.Namespace) -> int:
    action = ACTIONS.get(getattr(args, "action", None) or "")
    if action is None:
        print(f"mem3d perceive: choose an action: {', '.join(ACTIONS)}", file=sys.stderr)
        return 2
    return action.run(args)
