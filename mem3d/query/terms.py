"""The words of a text query that are checked apart from its embedding: its head noun, its colours,
and how it compares with the names of common things.

An embedding weighs every word of a phrase, so a query whose head noun names something else ("fridge
magnet") can match the thing its modifier names (the fridge), and "red mug" matches a white mug almost
as well as a red one. ``parse_query`` finds the head noun (the last word before any preposition:
"shelf of books" -> "shelf", "fridge magnet" -> "magnet") and the basic colour words; localization
then checks the head's own embedding against a candidate (``QueryTerms.head``) and the colour
against the colour the map observed there (``colour_agrees``), and names the evidence of a candidate
with ``mem3d.query.vocabulary.HOUSEHOLD_NAMES`` (``QueryTerms.names``): "sofa" is not answered by
an armchair, whose own name fits it better and is not a word for a sofa. English only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from mem3d.encoder import TextEncoder
from mem3d.query.vocabulary import HOUSEHOLD_NAMES

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
    name: str = ""
    """Its words without articles and colour words ("the grey sofa" -> "sofa")."""


@dataclass(frozen=True)
class QueryTerms:
    """What a localization checks besides the query's embedding."""

    head: np.ndarray | None = None
    """Unit (D,) embedding of the head noun, or None (no separate head)."""
    colours: tuple[str, ...] = ()
    """Colour names a candidate's observed colour must agree with."""
    names: np.ndarray | None = None
    """Unit (V, D) embeddings of the names of common things (``HOUSEHOLD_NAMES``), or None where the
    query names none of them (no name check)."""
    own_name: int | None = None
    """Row of ``names`` the query is (its words, colours and articles left out, equal that name), else
    the row of its head noun's name ("sink cabinet" -> "cabinet"), else None."""
    head_name: bool = False
    """Whether ``own_name`` is only its head noun's."""
    broader: np.ndarray | None = None
    """(V,) bool: names the query's words end ("clock" ends "alarm clock", "ball" ends "basketball"): a
    thing of that name is one of the query too."""


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
    name = " ".join(w for w in words if COLOUR_SYNONYMS.get(w, w) not in COLOURS)
    return ParsedQuery(head if separate else "", colours, name)


_NAME_EMBEDDINGS: dict[str, np.ndarray] = {}
"""``HOUSEHOLD_NAMES`` embedded, per encoder model id (embedded once per process)."""
_NAME_ROWS = {name: row for row, name in enumerate(HOUSEHOLD_NAMES)}


def name_embeddings(encoder: TextEncoder) -> np.ndarray:
    """Unit (V, D) float32 embeddings of ``HOUSEHOLD_NAMES`` by ``encoder`` (cached per model)."""
    key = encoder.info.model_id
    if key not in _NAME_EMBEDDINGS:
        # past a text cache in front of the encoder (``TextEmbeddingCache.encoder``): a one-off bulk
        # embedding would only evict the queries it keeps
        source = getattr(encoder, "encoder", encoder)
        vectors = np.asarray(source.encode_text(list(HOUSEHOLD_NAMES)), dtype=np.float32)
        _NAME_EMBEDDINGS[key] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return _NAME_EMBEDDINGS[key]


def text_embedding(encoder: TextEncoder, text: str) -> np.ndarray:
    """The (D,) float32 embedding of ``text``: its row of ``name_embeddings`` when it is one of
    ``HOUSEHOLD_NAMES`` and those are embedded already, else ``encoder``'s. The same vector either way
    (float32 rounding apart), without another pass of the text model (about 10 ms a text here)."""
    if text in _NAME_ROWS and encoder.info.model_id in _NAME_EMBEDDINGS:
        return name_embeddings(encoder)[_NAME_ROWS[text]].copy()
    return np.asarray(encoder.encode_text([text])[0], dtype=np.float32)


def query_terms(encoder: TextEncoder, text: str) -> QueryTerms:
    """The head-noun embedding (by ``encoder``), colour words and common names of a text query."""
    parsed = parse_query(text)
    word = parsed.name if parsed.name in _NAME_ROWS else parsed.head
    own = _NAME_ROWS.get(word)
    names = None if own is None else name_embeddings(encoder)
    head = text_embedding(encoder, parsed.head) if parsed.head else None
    return QueryTerms(head, parsed.colours, names=names, own_name=own, broader=_broader(word),
                      head_name=own is not None and word != parsed.name)


def _broader(word: str) -> np.ndarray:
    """(V,) bool: the common names that end with ``word`` (none for "")."""
    return np.array([bool(word) and name.endswith(word) for name in HOUSEHOLD_NAMES])


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
