"""``mem3d keys``: create a CurveZMQ key pair (NAME.key public, NAME.key_secret secret)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mem3d.comms.auth import create_key_pair
from mem3d.errors import InvalidInputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", required=True, help="directory for the key files (created if missing)")
    parser.add_argument("--name", required=True, help="key pair name, e.g. server or planner1")


def run(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    blocked = next((p for p in (directory, *directory.parents) if p.exists()), None)
    if blocked is not None and not blocked.is_dir():
        raise InvalidInputError(f"--dir {directory}: {blocked} is a file; give a directory (created if missing)")
    public, secret = create_key_pair(directory, args.name)
    print(f"public key: {public}  (give it to the other side)")
    print(f"secret key: {secret}  (keep it private)")
    return 0
