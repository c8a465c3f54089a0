"""``mem3d keys``: create a CurveZMQ key pair (NAME.key public, NAME.key_secret secret)."""

from __future__ import annotations

import argparse

from mem3d.comms.auth import create_key_pair


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", required=True, help="directory for the key files")
    parser.add_argument("--name", required=True, help="key pair name, e.g. server or planner1")


def run(args: argparse.Namespace) -> int:
    public, secret = create_key_pair(args.dir, args.name)
    print(f"public key: {public}  (give it to the other side)")
    print(f"secret key: {secret}  (keep it private)")
    return 0
