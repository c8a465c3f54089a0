"""Calibration of a text encoder's match threshold from matching vs non-matching label/query pairs.

A query should match a stored label when it names the same kind of thing (a synonym, a paraphrase,
a more specific name) and not match any other household label. For each query we take its cosine with
its own label (a true match) and its highest cosine with any of the other labels (the distractor that
would answer it wrongly in a room holding all of them). The threshold is the cosine that best separates
the two sets: maximum of TPR - FPR (Youden's J), placed midway in the best gap.

Labels can also be scored with their descriptions ("mug (cup)"), the text the label path embeds for the
simulator's categories, so one threshold can be checked against both kinds of stored label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception.encoders.base import FeatureEncoder
from perception.encoders.label_embedding import described

SYNONYMS: dict[str, tuple[str, ...]] = {
    "mug": ("coffee cup", "cup", "tea mug"),
    "sofa": ("couch", "settee", "loveseat"),
    "chair": ("armchair", "dining chair", "seat"),
    "table": ("dining table", "kitchen table", "coffee table"),
    "bed": ("double bed", "mattress", "bunk bed"),
    "television": ("tv", "tv screen", "telly"),
    "lamp": ("floor lamp", "light", "desk lamp"),
    "potted plant": ("houseplant", "plant in a pot", "flower pot"),
    "refrigerator": ("fridge", "freezer", "icebox"),
    "sink": ("washbasin", "kitchen sink", "basin"),
    "toilet": ("lavatory", "wc", "toilet bowl"),
    "book": ("novel", "paperback", "textbook"),
    "bottle": ("water bottle", "wine bottle", "plastic bottle"),
    "bowl": ("cereal bowl", "soup bowl", "salad bowl"),
    "laptop": ("notebook computer", "computer", "macbook"),
    "door": ("doorway", "front door", "entrance door"),
    "window": ("windowpane", "glass window", "bay window"),
    "cabinet": ("cupboard", "kitchen cabinet", "wardrobe"),
    "microwave": ("microwave oven", "microwave for reheating food", "countertop microwave"),
    "pillow": ("cushion", "throw pillow", "bed pillow"),
    "backpack": ("rucksack", "school bag", "knapsack"),
    "clock": ("wall clock", "alarm clock", "timepiece"),
    "trash can": ("bin", "garbage can", "wastebasket"),
    "bookshelf": ("bookcase", "shelf of books", "shelving unit"),
}
"""Household labels (as a simulator names them) and queries a person would use for each."""

DESCRIPTIONS: dict[str, str] = {
    "mug": "cup", "sofa": "couch", "chair": "seat", "table": "furniture", "bed": "for sleeping",
    "television": "tv", "lamp": "light", "potted plant": "houseplant", "refrigerator": "fridge",
    "sink": "washbasin", "toilet": "lavatory", "book": "novel", "bottle": "drink bottle", "bowl": "dish",
    "laptop": "computer", "door": "entrance", "window": "glass pane", "cabinet": "cupboard",
    "microwave": "kitchen appliance", "pillow": "cushion", "backpack": "rucksack", "clock": "timepiece",
    "trash can": "waste bin", "bookshelf": "bookcase",
}
"""A description of each label of ``SYNONYMS``, in the style of the simulator's catalogue (``sim.catalogue``)."""


@dataclass(frozen=True)
class Calibration:
    """Cosine scores of matching and non-matching pairs and the threshold that separates them."""

    threshold: float
    true_positive_rate: float
    """Share of matching pairs scoring >= threshold."""
    false_positive_rate: float
    """Share of queries whose hardest distractor scores >= threshold."""
    matching: np.ndarray
    """(n_match,) cosine of every query with its own label."""
    non_matching: np.ndarray
    """(n_match,) per query, the highest cosine with any other label (its hardest distractor)."""
    pairs: np.ndarray
    """(n_match * (n_labels - 1),) cosine of every query with every other label."""

    def rates(self, threshold: float) -> tuple[float, float]:
        """(TPR, FPR) at another threshold."""
        return (float(np.mean(self.matching >= threshold)), float(np.mean(self.non_matching >= threshold)))

    def summary(self) -> dict[str, float]:
        return {"threshold": self.threshold, "true_positive_rate": self.true_positive_rate,
                "false_positive_rate": self.false_positive_rate,
                "matching_median": float(np.median(self.matching)),
                "distractor_median": float(np.median(self.non_matching)),
                "pairwise_false_positive_rate": float(np.mean(self.pairs >= self.threshold)),
                "n_queries": int(self.matching.size), "n_pairs": int(self.pairs.size)}


def best_threshold(matching: np.ndarray, non_matching: np.ndarray) -> float:
    """The cosine maximising TPR - FPR, placed midway between the two scores that bound it."""
    scores = np.unique(np.concatenate([matching, non_matching]))
    candidates = np.concatenate([(scores[:-1] + scores[1:]) / 2.0, [scores[-1] + 1e-6]])
    tpr = (matching[None, :] >= candidates[:, None]).mean(axis=1)
    fpr = (non_matching[None, :] >= candidates[:, None]).mean(axis=1)
    return float(candidates[np.argmax(tpr - fpr)])


def calibrate(encoder: FeatureEncoder, synonyms: dict[str, tuple[str, ...]] = SYNONYMS,
              descriptions: dict[str, str] | None = None) -> Calibration:
    """Score every query against every label with ``encoder.encode_text`` and fit the threshold; with
    ``descriptions`` (label -> description), labels are scored as "label (description)"."""
    labels = list(synonyms)
    queries = [(q, i) for i, label in enumerate(labels) for q in synonyms[label]]
    texts = [described(label, (descriptions or {}).get(label)) for label in labels]
    scores = encoder.encode_text([q for q, _ in queries]) @ encoder.encode_text(texts).T
    own = np.zeros(scores.shape, dtype=bool)
    own[np.arange(len(queries)), [i for _, i in queries]] = True
    matching = scores[own]
    non_matching = np.where(own, -np.inf, scores).max(axis=1)
    threshold = best_threshold(matching, non_matching)
    tpr, fpr = float(np.mean(matching >= threshold)), float(np.mean(non_matching >= threshold))
    return Calibration(threshold, tpr, fpr, matching, non_matching, scores[~own])
