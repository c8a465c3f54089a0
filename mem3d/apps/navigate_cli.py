"""``mem3d navigate --goal "red mug" --goal "sofa"``: the planner node. It drives a source (the embedded
simulator, or any ``Source`` that acts) through a task, sending every view through perception to the
memory service and planning on what the memory answers over ZeroMQ (``localize``, ``occupancy``).

Progress goes to stderr, one line per plan or exploration target (the goal, the distance left along
the plan, whether it is exploring); the final report is one JSON line on stdout: goals reached, path
length (what the agent travelled), time and the share of actions spent exploring.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from mem3d.comms.auth import add_client_key_arguments, client_curve_from_args
from mem3d.comms.endpoints import DEFAULT_REQUESTS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--goal", action="append", required=True, help='a goal, in order; repeat: --goal "sofa"')
    parser.add_argument("--source", default="sim", help="a source that acts (default: the embedded simulator)")
    parser.add_argument("--seed", type=int, default=0, help="episode seed (start pose)")
    parser.add_argument("--memory", default=DEFAULT_REQUESTS, help="memory service request endpoint")
    parser.add_argument("--encoder", default="label-minilm",
                        help="perception encoder, the memory's (default: %(default)s)")
    parser.add_argument("--samples", type=int, default=8000, help="points per perceived frame")
    parser.add_argument("--max-actions", type=int, default=400, help="budget of actions per goal")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each memory answer")
    parser.add_argument("--standoff-max", type=float, default=None, metavar="M",
                        help="farthest the robot stops from a goal's box, metres (default 0.93; 0.7 for perception "
                             "whose boxes run past the objects, as CLIP's or noisy depth's do)")
    add_client_key_arguments(parser)


def nav_config(max_actions: int = 400, standoff_max_m: float | None = None):
    """The planner's ``NavConfig``: the default, with this action budget per goal and, when given, this
    farthest standoff (metres from the goal's box; between the nearest standoff and the 1.0 m rule)."""
    from dataclasses import replace

    from mem3d.errors import InvalidInputError
    from planners.navigator import NavConfig

    config = replace(NavConfig(), max_actions_per_goal=max_actions)
    if standoff_max_m is None:
        return config
    if not config.standoff.min_m < standoff_max_m <= 1.0:
        raise InvalidInputError(f"--standoff-max {standoff_max_m} m: it must be over {config.standoff.min_m} m "
                                "(the nearest standoff) and at most 1.0 m (the ObjectNav rule)")
    return replace(config, standoff=replace(config.standoff, max_m=standoff_max_m))


def navigate(source, client, encoder, goals: Sequence[str], seed: int = 0, samples: int = 8000,
             max_actions: int = 400, on_progress: Callable | None = None, standoff_max_m: float | None = None):
    """Run the task on ``source`` (reset with ``seed``) against the service behind ``client``; the
    ``planners.reports.TaskReport``. Each view is perceived and acknowledged before planning goes on."""
    from perception.config import FrameConfig
    from perception.node import PerceptionNode
    from planners.body import SensedBody
    from planners.navigator import Navigator

    node = PerceptionNode(encoder, client, FrameConfig(n_samples=samples), name="navigate")

    def perceive(obs) -> None:
        node.process(obs)
        node.flush()  # the memory has applied the view before the planner asks about it

    first = source.reset(seed)
    perceive(first)
    body = SensedBody(source, perceive)
    navigator = Navigator(body, client, nav_config(max_actions, standoff_max_m), on_progress)
    navigator.start(first)
    return navigator.run(goals)


def progress_line(progress) -> str:
    """One ``planners.reports.Progress`` as a line: goal, going or exploring, distance left, travelled."""
    left = "?" if progress.distance_left_m is None else f"{progress.distance_left_m:.1f} m"
    mode = "exploring" if progress.exploring else "going"
    return (f"[goal {progress.goal_index + 1}: {progress.goal}] {mode}, {left} left, {progress.travelled_m:.1f} m "
            f"travelled, {progress.actions} actions ({progress.note})")


def _print_progress(progress) -> None:
    print(progress_line(progress), file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from mem3d.client import MemoryClient
    from mem3d.encoder import create_encoder
    from mem3d.source import open_source
    from perception.cli import require_encoder_fits

    config = nav_config(args.max_actions, args.standoff_max)  # a bad option fails before anything opens
    opened = open_source(args.source, tour=False)  # a bad source spec fails first
    try:
        with MemoryClient(args.memory, timeout=args.timeout, curve=client_curve_from_args(args)) as client:
            stats = client.check_service()  # a missing service is said within 3 s
            require_encoder_fits(args.encoder, stats.feature_model, stats.feature_dim, args.memory)  # before loading
            encoder = create_encoder(args.encoder)
            encoder.info.require_compatible(stats.feature_dim, stats.feature_model)
            report = navigate(opened.source, client, encoder, args.goal, args.seed, args.samples,
                              args.max_actions, _print_progress, config.standoff.max_m)
    finally:
        opened.source.close()
    print(json.dumps(report.summary()), flush=True)
    return 0
