"""``mem3d serve``: run the memory service over ZeroMQ until shutdown, SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from mem3d.comms.auth import CurveServerConfig
from mem3d.comms.endpoints import DEFAULT_REQUESTS, ServiceEndpoints
from mem3d.config import load_yaml_config
from mem3d.errors import InvalidInputError, SchemaMismatchError, StoreError
from mem3d.service.text_cache import DEFAULT_SIZE as TEXT_CACHE_SIZE
from mem3d.voxel_map import MapConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from mem3d.encoder import add_encoder_option_argument  # torch-free: the registry only

    parser.add_argument("--store", required=True, help="memory directory (created if missing)")
    parser.add_argument("--bind", default=DEFAULT_REQUESTS, help="request endpoint (ROUTER)")
    parser.add_argument("--ingest-bind", help="ingest endpoint (default: request port + 1)")
    parser.add_argument("--publish-bind", help="change feed endpoint (default: request port + 2)")
    parser.add_argument("--encoder", help="text encoder for text queries, e.g. label-minilm or open-clip; "
                                          "also sets the dimension and model of a new map")
    add_encoder_option_argument(parser)
    parser.add_argument("--map-config", help="YAML file with MapConfig settings for a new map")
    parser.add_argument("--text-cache-size", type=int, default=TEXT_CACHE_SIZE,
                        help="query texts whose embeddings are kept, least recently used dropped first "
                             "(0 = no cache)")
    parser.add_argument("--checkpoint-every-frames", type=int, default=500,
                        help="write a checkpoint after this many frames")
    parser.add_argument("--checkpoint-every-s", type=float, default=300.0,
                        help="write a checkpoint after this many seconds with new frames")
    parser.add_argument("--curve", action="store_true", help="require CurveZMQ authentication")
    parser.add_argument("--server-key", help="with --curve: the server's .key_secret file")
    parser.add_argument("--clients", help="with --curve: directory of authorized client .key files")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")


def _encoder_options(args: argparse.Namespace) -> dict:
    """``--encoder-option`` strings typed by the encoder's config (``perception.encoders``)."""
    if not args.encoder_option:
        return {}
    if not args.encoder:
        raise InvalidInputError("--encoder-option needs --encoder")
    from mem3d.encoder import parse_encoder_options

    return parse_encoder_options(args.encoder, args.encoder_option)


def service_config(args: argparse.Namespace):
    """The ``ServiceConfig`` of a parsed ``mem3d serve`` command line."""
    from mem3d.service.config import ServiceConfig

    endpoints = ServiceEndpoints.around(args.bind, args.ingest_bind, args.publish_bind)
    return ServiceConfig(
        store=args.store, bind=endpoints.requests, ingest_bind=endpoints.ingest, publish_bind=endpoints.changes,
        map=load_yaml_config(MapConfig, args.map_config) if args.map_config else None,
        encoder=args.encoder, encoder_options=_encoder_options(args),
        checkpoint_every_frames=args.checkpoint_every_frames, checkpoint_every_s=args.checkpoint_every_s,
        text_cache_size=args.text_cache_size,
        curve=CurveServerConfig(args.server_key, args.clients) if args.curve else None)


def require_free(endpoints: ServiceEndpoints) -> None:
    """Refuse endpoints that cannot be bound (in use, malformed) before anything is created: each is
    bound for a moment and released (``InvalidInputError`` naming the endpoint)."""
    import zmq

    from mem3d.comms.sockets import SERVICE, bind

    context = zmq.Context()
    try:
        for endpoint in (endpoints.requests, endpoints.ingest, endpoints.changes):
            bind(context, zmq.ROUTER, endpoint, SERVICE).close()
    finally:
        context.term()


def check_store(store: Path, encoder: str | None, map_config: MapConfig | None) -> str | None:
    """The cheap checks of the store, before an encoder loads: a directory (or nothing yet), not held by
    another service, and a map the encoder can serve. Returns a hint for the user, if any."""
    from mem3d.io.checkpoint import stored_config
    from mem3d.io.lock import lock_holder

    if store.exists() and not store.is_dir():
        raise StoreError(f"--store {store} is a file: give a directory (a new one is created)")
    holder = lock_holder(store)
    if holder is not None:
        raise StoreError(f"store {store} is in use by pid {holder} (another `mem3d serve`?): stop it, "
                         "or give another --store")
    stored = stored_config(store) if store.is_dir() else None
    if stored is not None:
        made_by, _, _ = stored.feature_model.partition("/")
        if encoder is not None and made_by and made_by != encoder:
            raise SchemaMismatchError(f"the map in {store} holds {stored.feature_model} features "
                                      f"({stored.feature_dim}-d): serve it with --encoder {made_by}, or give "
                                      f"another --store for {encoder}")
        if encoder is None and made_by:
            return (f"no --encoder: text queries will be refused (this map was made by {made_by}: "
                    f"add --encoder {made_by})")
    elif encoder is None and map_config is None:
        return (f"no --encoder: the new map takes {MapConfig().feature_dim}-d features of any model and no text "
                "queries; for `mem3d perceive` (label-minilm by default) start it with --encoder label-minilm")
    return None


def hint(text: str) -> None:
    print(f"mem3d serve: {text}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from mem3d.service.factory import load_text_encoder
    from mem3d.service.priority import start_zarr_threads_nicer
    from mem3d.service.server import MemoryService

    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.curve and not (args.server_key and args.clients):
        print("mem3d serve: --curve needs --server-key and --clients", file=sys.stderr)
        return 2
    if args.text_cache_size < 0:
        print(f"mem3d serve: --text-cache-size must be >= 0, got {args.text_cache_size}", file=sys.stderr)
        return 2
    config = service_config(args)
    start_zarr_threads_nicer()  # before check_store reads the store: checkpoints yield to queries
    advice = check_store(Path(config.store), config.encoder, config.map)  # at once, before a model loads
    require_free(config.endpoints)
    if advice is not None:
        hint(advice)
    encoder = load_text_encoder(config)
    service = MemoryService(config, encoder)
    service.serve_forever(  # the ready line, for launchers and scripts (mem3d.apps.service_process)
        on_ready=lambda: print(json.dumps({"ready": True, **service.endpoints}), flush=True))
    memory = service.memory
    hint(f"stopped: {len(memory.map):,} voxels, {memory.seq:,} frames in {config.store} "
         f"(checkpoint {memory.last_checkpoint or 'none'})")
    return 0
