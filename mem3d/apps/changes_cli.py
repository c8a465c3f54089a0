"""``mem3d changes STORE [--since S] [--place P] [--json]``: what appeared, moved and disappeared, offline.

The store is opened read-only (a live one too); the answer is the service's ``changes_since``
(``mem3d.episodic.queries.changes_since``): the change events observed after ``--since`` (seconds of
the sensor's clock), at one place if given, oldest first.
"""

from __future__ import annotations

import argparse
import json

from mem3d.apps.offline import open_view
from mem3d.apps.timeline import as_json, event_line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="a memory store directory (read-only; a live one too)")
    parser.add_argument("--since", type=float,
                        help="only changes observed after this stamp, seconds (default: all of them)")
    parser.add_argument("--place", type=int, help="only changes at this place (a move counts at both ends)")
    parser.add_argument("--json", action="store_true", help="print the events as JSON")


def run(args: argparse.Namespace) -> int:
    from mem3d.episodic.queries import changes_since

    view = open_view(args.store)
    events = changes_since(view.episodic, float("-inf") if args.since is None else args.since, args.place)
    if args.json:
        print(json.dumps({"since": args.since, "place": args.place, "events": as_json(events), "seq": view.seq}))
        return 0
    where = f" at place {args.place}" if args.place is not None else ""
    after = "" if args.since is None else f" after {args.since:g} s"
    print(f"{len(events)} change(s){where}{after}")
    for event in events:
        print(event_line(event))
    return 0
