"""The JSON label table of a semantic segmentation, in Isaac Sim's layout.

Isaac Sim's ROS 2 camera helper publishes ``{"0": {"class": "BACKGROUND"}, "1": {"class": "UNLABELLED"},
"7": {"class": "mug"}, "time_stamp": {...}}``: integer-string keys with a ``class``, plus non-id keys
(ignored). BACKGROUND and UNLABELLED (any case) mean "no label" and are left out, as is id 0.
"""

from __future__ import annotations

import json

from mem3d.errors import InvalidInputError

NO_LABEL = ("background", "unlabelled", "unlabeled")


def parse_label_table(text: str) -> dict[int, str]:
    """Semantic id -> label text of a JSON label table (``InvalidInputError`` for malformed JSON)."""
    try:
        table = json.loads(text)
    except ValueError as error:
        raise InvalidInputError(f"semantic label table is not JSON: {error}") from None
    if not isinstance(table, dict):
        raise InvalidInputError("semantic label table must be a JSON object {\"<id>\": {\"class\": \"<label>\"}}")
    labels: dict[int, str] = {}
    for key, entry in table.items():
        if not str(key).isdigit():
            continue  # "time_stamp" and the like
        label = entry.get("class") if isinstance(entry, dict) else entry
        if not isinstance(label, str):
            raise InvalidInputError(f"semantic label {key!r} has no \"class\" text: {entry!r}")
        if int(key) != 0 and label.strip().lower() not in NO_LABEL:
            labels[int(key)] = label.strip()
    return labels


def label_table(labels: dict[int, str]) -> str:
    """The JSON label table of ``labels`` (id 0 is BACKGROUND)."""
    return json.dumps({"0": {"class": "BACKGROUND"}, **{str(k): {"class": v} for k, v in sorted(labels.items())}})
