"""``mem3d store``: check a store, and repair a damaged one with the loss stated (docs/storage.md).

    mem3d store check DIR [--json]                 verdict: ok / torn tail / damaged, and what is lost
    mem3d store repair DIR [--accept-loss] [--json]

``check`` never changes anything and needs no lock (a live service may be writing); its exit status
is 0 for ok or a torn tail, 1 for a damaged store. ``repair`` reports what it would lose and changes
nothing unless ``--accept-loss`` is given; it needs the store's write lock (no service running), keeps
a copy of everything it removes in ``DIR/quarantine-<time>/`` and leaves a store that opens.
"""

from __future__ import annotations

import argparse
import json

from mem3d.io.lock import lock_holder
from mem3d.io.repair import repair_store
from mem3d.io.verify import Verdict, inspect_store


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="is the store intact? (changes nothing)")
    repair = sub.add_parser("repair", help="make a damaged store open again, keeping a copy of what is removed")
    repair.add_argument("--accept-loss", action="store_true",
                        help="go ahead although acknowledged records are lost (they are listed first)")
    for command in (check, repair):
        command.add_argument("store", help="store directory")
        command.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    if args.action == "check":
        report = inspect_store(args.store)
        holder = lock_holder(args.store)
        if args.json:
            print(json.dumps({**report.to_dict(), "in_use_by_pid": holder}, indent=2))
        else:
            print(report.describe())
            if holder is not None:
                print(f"  in use by pid {holder}: a torn tail may be a record being written right now")
        return 1 if report.verdict is Verdict.DAMAGED else 0
    result = repair_store(args.store, accept_loss=args.accept_loss)
    if args.json:
        print(json.dumps({**result.report.to_dict(), "changed": result.changed,
                          "quarantine": None if result.quarantine is None else str(result.quarantine)}, indent=2))
    else:
        print(result.report.describe())
        if result.changed:
            print(f"repaired: the store opens now; what was removed is in {result.quarantine}")
        elif result.report.verdict is Verdict.OK:
            print("nothing to repair")
        else:
            print("nothing was changed: run again with --accept-loss to accept the loss listed above")
    return 0 if result.changed or result.report.verdict is Verdict.OK else 1
