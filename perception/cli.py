"""``mem3d perceive``: the perception node, and perception tools.

    mem3d perceive --source sim --memory tcp://127.0.0.1:5555      run the node
    mem3d perceive bench --json | mem3d perceive calibrate          tools

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

from mem3d.comms.auth import add_client_key_arguments, client_curve_from_args
from perception.encoders import add_encoder_option_argument


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


def _node_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", help="sim[:SEED|DIR], replay:DIR or tcp://HOST:PORT (see perception.sources)")
    parser.add_argument("--memory", default="tcp://127.0.0.1:5555", help="memory service request endpoint")
    parser.add_argument("--ingest", help="its ingest endpoint (default: request port + 1)")
    add_client_key_arguments(parser)
    parser.add_argument("--encoder", default="label-minilm", help="feature encoder (label-minilm, open-clip)")
    add_encoder_option_argument(parser)
    parser.add_argument("--frames", type=int, help="stop after this many observations")
    parser.add_argument("--samples", type=int, default=20_000, help="points per frame")
    parser.add_argument("--live", action="store_true", help="latest-only delivery (skip frames when behind)")
    parser.add_argument("--max-in-flight", type=int, default=4, help="unacknowledged frames at most")
    parser.add_argument("--ack-timeout", type=float, default=30.0,
                        help="seconds without an acknowledgement before re-sending (or, --live, giving up)")
    parser.add_argument("--no-tour", action="store_true", help="sim sources: do not drive the agent")


def _run_node(args: argparse.Namespace) -> int:
    import logging

    from mem3d.client import MemoryClient
    from perception.config import FrameConfig
    from perception.encoders import create_encoder, parse_encoder_options
    from perception.node import DeliveryConfig, PerceptionNode
    from perception.sources import open_source

    logging.basicConfig(level="INFO", stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    options = parse_encoder_options(args.encoder, args.encoder_option)  # bad input fails before any load
    delivery = DeliveryConfig(live=args.live, max_in_flight=max(1, args.max_in_flight),
                              ack_timeout_s=args.ack_timeout)
    curve = client_curve_from_args(args)
    source, actions = open_source(args.source, tour=not args.no_tour)
    try:
        encoder = create_encoder(args.encoder, **options)
        with MemoryClient(args.memory, args.ingest, curve=curve) as client:
            stats = client.stats()
            encoder.info.require_compatible(stats.feature_dim, stats.feature_model)
            node = PerceptionNode(encoder, client, FrameConfig(n_samples=args.samples), delivery)
            result = node.run(source, actions, max_frames=args.frames)
    finally:
        source.close()
    print(json.dumps({"source": args.source, "node": node.source_id, "observed": result.observed,
                      "sent": result.sent, "acknowledged": result.acknowledged, "skipped": result.skipped,
                      "refused": len(result.refused), "resends": result.resends, "lost": result.lost}),
          flush=True)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _node_arguments(parser)
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    for name, action in ACTIONS.items():
        action.add_arguments(sub.add_parser(name, help=action.help, description=action.help))


def run(args: argparse.Namespace) -> int:
    """With an action, run it; without one, run the perception node on ``--source``."""
    action = ACTIONS.get(getattr(args, "action", None) or "")
    if action is not None:
        return action.run(args)
    if not args.source:
        print(f"mem3d perceive: give --source to run the node, or an action: {', '.join(ACTIONS)}",
              file=sys.stderr)
        return 2
    return _run_node(args)
