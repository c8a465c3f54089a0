"""``mem3d history STORE TEXT [--json]``: the timeline of the remembered object a text names, offline.

The store is opened read-only (a live one too: ``mem3d.apps.offline``); the text is embedded by the
map's encoder and matched against the episodic memory's instances as the service's ``history`` and
``when_seen`` requests do (``mem3d.episodic.queries``). Prints the instance's events oldest first and the
intervals in which it was seen.
"""

from __future__ import annotations

import argparse
import json

from mem3d.apps.offline import open_view, text_encoder_for
from mem3d.apps.timeline import as_json, event_line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="a memory store directory (read-only; a live one too)")
    parser.add_argument("text", help='the object, e.g. "red mug"')
    parser.add_argument("--threshold", type=float,
                        help="cosine an instance must reach (default: the encoder's calibrated one)")
    parser.add_argument("--json", action="store_true", help="print the timeline as JSON")


def run(args: argparse.Namespace) -> int:
    from mem3d.episodic.queries import history, when_seen

    view = open_view(args.store)
    config = view.voxel_map.config
    encoder = text_encoder_for(config.feature_model, config.feature_dim)
    embedding = encoder.encode_text([args.text])[0]
    threshold = encoder.info.match_threshold if args.threshold is None else args.threshold
    instance, events = history(view.episodic, embedding, threshold)
    _, intervals = when_seen(view.episodic, embedding, threshold)
    if args.json:
        print(json.dumps({"text": args.text, "instance": instance, "events": as_json(events),
                          "intervals": as_json(intervals), "seq": view.seq}))
        return 0
    if instance < 0:
        print(f'"{args.text}": no remembered object matches (threshold {threshold:.2f})')
        return 0
    print(f'"{args.text}": instance {instance}, {len(events)} event(s)')
    for event in events:
        print(event_line(event))
    seen = ", ".join(f"{i.start:.1f}-{i.end:.1f} s (place {i.place})" for i in intervals)
    print(f"seen during: {seen or '-'}")
    return 0
