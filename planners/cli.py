"""``mem3d plan find``: ask the memory for goals and print go-to / explore decisions (JSON lines)."""

from __future__ import annotations

import argparse
import json
import time

from mem3d.client import MemoryClient
from mem3d.comms.auth import add_client_key_arguments, client_curve_from_args
from mem3d.comms.endpoints import DEFAULT_REQUESTS
from planners.object_search import search

CHECK_TIMEOUT_S = 3.0
"""How long the first request waits before asking whether the service runs."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    find = sub.add_parser("find", help="where is each goal? one JSON line per goal and round")
    find.add_argument("goals", nargs="+", help='what to look for, e.g. "red mug" "sofa"')
    find.add_argument("--memory", default=DEFAULT_REQUESTS, help="memory service request endpoint")
    find.add_argument("--every", type=float, default=0.0, help="repeat every this many seconds (0 = once)")
    find.add_argument("--rounds", type=int, default=1, help="how many times to ask (with --every)")
    find.add_argument("--top-k", type=int, default=3, help="candidates per goal")
    find.add_argument("--timeout", type=float, default=10.0,
                      help=f"seconds to wait for each answer (the first check waits at most {CHECK_TIMEOUT_S:g})")
    add_client_key_arguments(find)


def run(args: argparse.Namespace) -> int:
    with MemoryClient(args.memory, timeout=args.timeout, curve=client_curve_from_args(args)) as client:
        client.check_service(min(args.timeout, CHECK_TIMEOUT_S))  # a missing service is said at once
        for round_ in range(max(1, args.rounds)):
            if round_:
                time.sleep(args.every)
            for goal in args.goals:
                print(json.dumps({"round": round_ + 1, **search(client, goal, args.top_k).summary()}), flush=True)
    return 0
