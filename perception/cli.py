"""``mem3d perceive``: the perception node, and perception tools.

    mem3d perceive --source sim --memory tcp://127.0.0.1:5555      run the node
    mem3d perceive calibrate --encoder label-minilm                 a tool (prints JSON)

Each tool is a row of ``ACTIONS``: a function adding its options and one running it. The action is
optional on the command line: without one, ``run`` runs the perception node on ``--source``, a spec
of the core source registry (``mem3d.source``). The perception benchmark is ``mem3d bench perception``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass

from mem3d.comms.auth import add_client_key_arguments, client_curve_from_args
from mem3d.comms.endpoints import DEFAULT_REQUESTS
from mem3d.encoder import add_encoder_option_argument, available_encoders
from mem3d.source import available_sources


@dataclass(frozen=True)
class Action:
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _calibrate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--encoder", default="label-minilm", help="registry name of a text encoder")


def _calibrate(args: argparse.Namespace) -> int:
    from mem3d.encoder import create_encoder
    from perception.calibration import calibrate

    summary = calibrate(create_encoder(args.encoder)).summary()
    print(json.dumps({"encoder": args.encoder, **summary}))
    return 0


ACTIONS: dict[str, Action] = {
    "calibrate": Action("fit a text encoder's match threshold on household synonyms (prints JSON)",
                        _calibrate_arguments, _calibrate),
}


def _node_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", help=f"observation source: {', '.join(available_sources().values())}")
    parser.add_argument("--memory", default=DEFAULT_REQUESTS, help="memory service request endpoint")
    parser.add_argument("--ingest", help="its ingest endpoint (default: request port + 1)")
    add_client_key_arguments(parser)
    parser.add_argument("--encoder", default="label-minilm", help=f"feature encoder: {', '.join(available_encoders())}")
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
    from mem3d.encoder import create_encoder, parse_encoder_options
    from mem3d.source import open_source
    from perception.config import FrameConfig
    from perception.node import DeliveryConfig, PerceptionNode

    logging.basicConfig(level="INFO", stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    options = parse_encoder_options(args.encoder, args.encoder_option)  # bad input fails before any load
    delivery = DeliveryConfig(live=args.live, max_in_flight=max(1, args.max_in_flight),
                              ack_timeout_s=args.ack_timeout)
    curve = client_curve_from_args(args)
    opened = open_source(args.source, tour=not args.no_tour)
    try:
        encoder = create_encoder(args.encoder, **options)
        with MemoryClient(args.memory, args.ingest, curve=curve) as client:
            stats = client.stats()
            encoder.info.require_compatible(stats.feature_dim, stats.feature_model)
            node = PerceptionNode(encoder, client, FrameConfig(n_samples=args.samples), delivery)
            result = node.run(opened.source, opened.actions, max_frames=args.frames)
    finally:
        opened.source.close()
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
