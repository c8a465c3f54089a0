"""``mem3d map``: inspect and query a saved memory offline (no service needed).

    mem3d map info STORE                            voxels, feature model, checkpoints (JSON)
    mem3d map query STORE "red mug" [--top-k 5]     ranked candidates (JSON), with the map's encoder

``mem3d query`` and ``mem3d info`` give the same answers readably, with pictures.

A store written by ``mem3d serve`` holds checkpoints and a write-ahead log; these commands read the
current checkpoint and replay the acknowledged records of the log after it, in memory, without the
store's write lock and without writing anything, so they work on a live store too
(``mem3d.service.store_view.open_store_readonly``). ``--checkpoint`` reads one checkpoint alone.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from mem3d.apps.offline import open_view, require_store_dir, text_encoder_for
from mem3d.io.checkpoint import list_checkpoints, load_map
from mem3d.voxel_map import VoxelMap


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = sub.add_parser("info", help="what a store holds")
    info.add_argument("store", help="store directory")
    query = sub.add_parser("query", help="where is something? (embeds the text with the map's encoder)")
    query.add_argument("store", help="store directory")
    query.add_argument("text", help='what to look for, e.g. "red mug"')
    query.add_argument("--top-k", type=int, default=5, help="candidates at most")
    query.add_argument("--threshold", type=float, help="cosine threshold (default: the map's)")
    for command in (info, query):
        command.add_argument("--checkpoint", help="read this checkpoint alone, without the log after it")


def _open(args: argparse.Namespace) -> tuple[VoxelMap, dict]:
    """The map, and where it comes from (checkpoint, log position)."""
    if args.checkpoint is not None:
        return load_map(require_store_dir(args.store), checkpoint=args.checkpoint), {"checkpoint": args.checkpoint}
    view = open_view(args.store)
    return view.voxel_map, {"checkpoint": view.checkpoint, "log_seq": view.seq, "replayed": view.replayed}


def run(args: argparse.Namespace) -> int:
    voxel_map, origin = _open(args)
    config = voxel_map.config
    if args.action == "info":
        print(json.dumps({"n_voxels": len(voxel_map), "feature_model": config.feature_model,
                          "feature_dim": config.feature_dim, "voxel_size": config.voxel_size,
                          "map_bytes": voxel_map.nbytes(), "checkpoints": list_checkpoints(args.store),
                          "threshold": config.localize.threshold, **origin}, indent=2))
        return 0
    from mem3d.query.terms import query_terms

    encoder = text_encoder_for(config.feature_model, config.feature_dim)
    result = voxel_map.localize(encoder.encode_text([args.text])[0], top_k=args.top_k, threshold=args.threshold,
                                terms=query_terms(encoder, args.text))
    print(json.dumps({"text": args.text, "found": result.found, "threshold": result.threshold,
                      "candidates": [asdict(c) for c in result.candidates]}, indent=2))
    return 0
