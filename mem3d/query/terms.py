"""The words of a text query that are checked apart from its embedding: its head noun and its colours.

An embedding weighs every word of a phrase, so a query whose head noun names something else ("fridge
magnet") can match the thing its modifier names (the fridge), and "red mug" matches a white mug almost
as well as a red one. ``parse_query`` finds the head noun (the last word before any preposition:
"shelf of books" -> "shelf", "fridge magnet" -> "magnet") and the basic colour words; localization
then checks the head's own embedding against a candidate (``QueryTerms.head``) and the colour
against the colour the map observed there (``colour_agrees``). English only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from mem3d.encoder import TextEncoder

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (200, 40, 40), "orange": (235, 130, 30), "yellow": (230, 200, 40), "green": (50, 150, 60),
    "teal": (40, 150, 150), "blue": (40, 80, 200), "purple": (130, 60, 160), "pink": (230, 140, 170),
    "brown": (120, 80, 45), "beige": (215, 195, 160), "white": (235, 235, 230), "grey": (128, 128, 128),
    "black": (35, 35, 38), "silver": (190, 190, 200),
}
"""Basic colour words and a typical sRGB of each."""
COLOUR_SYNONYMS = {"gray": "grey", "violet": "purple", "cyan": "teal", "turquoise": "teal", "tan": "beige",
                   "cream": "beige", "golden": "yellow", "gold": "yellow", "navy": "blue", "crimson": "red"}
COLOUR_TOLERANCE = 0.2
"""A named colour agrees with an observed one when it is at most this much farther from it than the
nearest basic colour is (distances between brightness-normalised colours, see ``colour_agrees``)."""
_PREPOSITIONS = {"of", "in", "on", "for", "with", "from", "at", "by", "to", "near", "under", "behind", "beside"}
_QUANTIFIERS = {"pair", "set", "piece", "bunch", "kind", "sort", "type"}
"""Words that, before "of", name a quantity of what follows ("pair of shoes" -> "shoes")."""
_ARTICLES = {"a", "an", "the", "my", "some", "this", "that"}
_GENERIC = {"piece", "thing", "object", "item", "stuff", "one", "part", "place", "spot"}
"""Heads that say nothing of what a thing is ("lego piece"): such a query has no separate head."""


@dataclass(frozen=True)
class ParsedQuery:
    """The words of a query that localization checks separately."""

    head: str
    """Head noun ("magnet" of "fridge magnet"); "" when the query is that one word already."""
    colours: tuple[str, ...]
    """Basic colour names it uses (``COLOURS`` keys)."""


@dataclass(frozen=True)
class QueryTerms:
    """What a localization checks besides the query's embedding."""

    head: np.ndarray | None = None
    """Unit (D,) embedding of the head noun, or None (no separate head)."""
    colours: tuple[str, ...] = ()
    """Colour names a candidate's observed colour must agree with."""


def parse_query(text: str) -> ParsedQuery:
    """The head noun and colour words of an English noun phrase (see the module notes)."""
    words = [w for w in re.findall(r"[a-z0-9']+", text.lower()) if w not in _ARTICLES]
    colours = tuple(dict.fromkeys(c for w in words if (c := COLOUR_SYNONYMS.get(w, w)) in COLOURS))
    phrase = words
    for k, word in enumerate(words):
        if word in _PREPOSITIONS and k > 0:
            before, after = words[:k], words[k + 1:]
            phrase = after if word == "of" and before[-1] in _QUANTIFIERS and after else before
            break
    nouns = [w for w in phrase if COLOUR_SYNONYMS.get(w, w) not in COLOURS] or phrase
    head = nouns[-1] if nouns else ""
    separate = len(words) > 1 and head != " ".join(words) and head not in _GENERIC
    return ParsedQuery(head if separate else "", colours)


def query_terms(encoder: TextEncoder, text: str) -> QueryTerms:
    """The head-noun embedding (by ``encoder``) and colour words of a text query."""
    parsed = parse_query(text)
    head = encoder.encode_text([parsed.head])[0] if parsed.head else None
    return QueryTerms(None if head is None else np.asarray(head, dtype=np.float32), parsed.colours)


def _normalised(rgb: np.ndarray) -> np.ndarray:
    """Colours divided by their brightest channel: shading (a factor on all channels) cancels, so
    white, grey and black become one (they cannot be told apart under unknown lighting)."""
    rgb = np.asarray(rgb, dtype=np.float64).reshape(-1, 3)
    return rgb / np.maximum(rgb.max(axis=1, keepdims=True), 1.0)


_REFERENCE = _normalised(np.array(list(COLOURS.values())))


def colour_agrees(observed_rgb: tuple[int, int, int] | np.ndarray, colour: str) -> bool:
    """Whether an observed (shaded) RGB can be the basic colour ``colour``: the named colour is within
    ``COLOUR_TOLERANCE`` of the nearest basic colour, in brightness-normalised RGB."""
    distances = np.linalg.norm(_REFERENCE - _normalised(np.asarray(observed_rgb)), axis=1)
    named = distances[list(COLOURS).index(colour)]
    return bool(named <= distances.min() + COLOUR_TOLERANCE)
