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
    parser.add_argument("--frames", type=int, help="stop after this many observations (default: the whole source)")
    parser.add_argument("--samples", type=int, default=20_000, help="points per frame")
    parser.add_argument("--live", action="store_true", help="latest-only delivery (skip frames when behind)")
    parser.add_argument("--max-in-flight", type=int, default=4, help="unacknowledged frames at most")
    parser.add_argument("--ack-timeout", type=float, default=30.0,
                        help="seconds without an acknowledgement before re-sending (or, --live, giving up)")
    parser.add_argument("--no-tour", action="store_true", help="sim sources: do not drive the agent")


def require_encoder_fits(encoder: str, feature_model: str, feature_dim: int, memory: str,
                         options: dict | None = None) -> None:
    """Before the image model loads: refuse an encoder whose features the memory's map cannot take,
    naming the fix. A map that names no model is checked by dimension, through the encoder's light
    text half where it has one (label-minilm: numpy, a fraction of a second)."""
    from mem3d.encoder import create_text_encoder, encoder_entry
    from mem3d.errors import SchemaMismatchError

    stored, _, _ = feature_model.partition("/")
    if stored and stored != encoder:
        raise SchemaMismatchError(
            f"the memory at {memory} holds {feature_model} features ({feature_dim}-d), not {encoder}'s: run "
            f"with --encoder {stored}, or serve a new store for it (`mem3d serve --encoder {encoder} --store DIR`)")
    if not stored and encoder_entry(encoder).text_factory is not None:
        made = create_text_encoder(encoder, **(options or {})).info.feature_dim
        if made != feature_dim:
            raise SchemaMismatchError(
                f"the memory at {memory} holds {feature_dim}-d features of no named model, and {encoder} makes "
                f"{made}-d ones (was it started without --encoder?): serve a new store for it "
                f"(`mem3d serve --encoder {encoder} --store DIR`)")


class CountedSource:
    """A source whose observations advance a progress bar (the Source protocol, delegated)."""

    def __init__(self, source, bar) -> None:
        self.source, self.bar = source, bar

    def reset(self, seed=None):
        obs = self.source.reset(seed)
        self.bar.update()
        return obs

    def observe(self):
        obs = self.source.observe()
        self.bar.update()
        return obs

    def act(self, action):
        return self.source.act(action)

    def close(self) -> None:
        self.source.close()


def _run_node(args: argparse.Namespace) -> int:
    import logging

    from tqdm import tqdm

    from mem3d.client import MemoryClient
    from mem3d.encoder import create_encoder, parse_encoder_options
    from mem3d.errors import SchemaMismatchError
    from mem3d.source import open_source
    from perception.config import FrameConfig
    from perception.node import DeliveryConfig, PerceptionNode

    logging.basicConfig(level="INFO", stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    options = parse_encoder_options(args.encoder, args.encoder_option)  # bad input fails before any load
    delivery = DeliveryConfig(live=args.live, max_in_flight=max(1, args.max_in_flight),
                              ack_timeout_s=args.ack_timeout)
    curve = client_curve_from_args(args)
    interrupted = False
    opened = open_source(args.source, tour=not args.no_tour)  # a bad source spec fails first
    with MemoryClient(args.memory, args.ingest, curve=curve) as client:
        bar = tqdm(desc="perceiving", unit="frame", total=args.frames, disable=None, file=sys.stderr)
        try:
            stats = client.check_service()  # then the cheap checks: is the memory there, can it take these features?
            require_encoder_fits(args.encoder, stats.feature_model, stats.feature_dim, args.memory, options)
            say(f"the memory at {args.memory} answers: {stats.n_voxels:,} voxels, "
                f"{stats.feature_model or 'no feature model yet'} ({stats.feature_dim}-d)")
            say(f"loading the {args.encoder} encoder...")
            encoder = create_encoder(args.encoder, **options)
            try:
                encoder.info.require_compatible(stats.feature_dim, stats.feature_model)
            except SchemaMismatchError as error:
                raise SchemaMismatchError(f"{error}: serve a store made for it "
                                          f"(`mem3d serve --encoder {args.encoder} --store NEW_DIR`)") from None
            node = PerceptionNode(encoder, client, FrameConfig(n_samples=args.samples), delivery)
            try:
                node.run(CountedSource(opened.source, bar), opened.actions, max_frames=args.frames)
            except KeyboardInterrupt:
                interrupted = True
        finally:
            bar.close()
            opened.source.close()
    result = node.stats
    print(json.dumps({"source": args.source, "node": node.source_id, "observed": result.observed,
                      "sent": result.sent, "acknowledged": result.acknowledged, "skipped": result.skipped,
                      "refused": len(result.refused), "resends": result.resends, "lost": result.lost,
                      "interrupted": interrupted}), flush=True)
    return 130 if interrupted else 0


def say(text: str) -> None:
    print(f"mem3d perceive: {text}", file=sys.stderr, flush=True)


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
