"""Degraded ground-truth perception: the errors a real segmenter and depth camera make, added on purpose.

Label-embedding perception reads the simulator's exact masks, which no real robot has. Evaluations
run it a second time through ``degrade`` to report how the memory and planners hold up when:

- **masks are dropped**: an object instance goes unlabelled in a frame (a missed detection);
- **labels are confused**: an instance is labelled as a similar category in a frame (mug -> cup,
  "red mug" -> "white mug"; see ``CONFUSABLE_NOUNS``);
- **boundaries are wrong**: the label image is shifted by a few pixels against the depth image, so
  labels bleed onto neighbours and the background;
- **depth is noisy**: Gaussian noise growing with the square of the depth, plus dropped pixels.

Every draw comes from a generator seeded by ``DegradationConfig.seed`` and the ``obs_id``, so a run is
reproducible and independent of the order frames are processed in. ``DEGRADED`` is the setting the
episodic and navigation evaluations share.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from mem3d.errors import InvalidInputError
from mem3d.types import Observation

CONFUSABLE_NOUNS: tuple[frozenset[str], ...] = (
    frozenset({"mug", "cup", "bowl", "glass"}),
    frozenset({"bottle", "vase", "can"}),
    frozenset({"chair", "armchair", "stool"}),
    frozenset({"sofa", "couch", "bed"}),
    frozenset({"table", "desk", "counter", "nightstand"}),
    frozenset({"laptop", "tv", "monitor", "book"}),
    frozenset({"ball", "basketball", "teddy bear", "toy"}),
    frozenset({"plant", "potted plant", "lamp"}),
    frozenset({"toilet", "sink", "bathtub", "trash can"}),
)
"""Groups of head nouns a segmenter plausibly mixes up. A label whose head noun is in no group is
confused with another label of the same head noun ("red mug" <-> "white mug") when the frame has one."""


@dataclass(frozen=True)
class DegradationConfig:
    """How much each error happens; all zero = exact ground truth."""

    drop_mask_prob: float = 0.0
    """Probability that an instance in view is left unlabelled in a frame."""
    confuse_label_prob: float = 0.0
    """Probability that an instance in view is labelled as a confusable category in a frame."""
    boundary_shift_px: int = 0
    """The label and instance images are shifted by up to this many pixels (each axis, uniform)."""
    depth_noise_std_m: float = 0.0
    """Gaussian depth noise standard deviation at 1 m, metres; it grows with the square of depth."""
    depth_dropout: float = 0.0
    """Fraction of depth pixels set invalid (0)."""
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("drop_mask_prob", "confuse_label_prob", "depth_dropout"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InvalidInputError(f"DegradationConfig.{name} must be in [0, 1], got {value}")
        if self.boundary_shift_px < 0 or not self.depth_noise_std_m >= 0.0:
            raise InvalidInputError("DegradationConfig.boundary_shift_px and depth_noise_std_m must be >= 0")

    @property
    def is_exact(self) -> bool:
        """True when nothing is degraded."""
        return self == dataclasses.replace(DegradationConfig(), seed=self.seed)


DEGRADED = DegradationConfig(drop_mask_prob=0.2, confuse_label_prob=0.1, boundary_shift_px=3,
                             depth_noise_std_m=0.01, depth_dropout=0.02)
"""The degraded-perception setting shared by the evaluations: one instance in five missed per frame,
one in ten mislabelled, masks off by up to 3 px, 1 cm depth noise at 1 m (4 cm at 2 m), 2% holes."""


def degrade(obs: Observation, config: DegradationConfig) -> Observation:
    """A copy of ``obs`` with the configured errors; ``obs`` is not changed. Label errors need
    ``obs.semantic`` and ``obs.instance``; depth errors apply to every observation."""
    if config.is_exact:
        return obs
    rng = np.random.default_rng([config.seed, int(obs.obs_id)])
    semantic, labels = obs.semantic, dict(obs.labels)
    instance = obs.instance
    if semantic is not None and instance is not None:
        semantic = semantic.copy()
        _drop_and_confuse(semantic, instance, labels, config, rng)
        semantic, instance = (_shift(a, config.boundary_shift_px, rng) for a in (semantic, instance))
    return dataclasses.replace(obs, depth=_noisy_depth(obs.depth, config, rng), semantic=semantic,
                               instance=instance, labels=labels)


def head_noun(label: str) -> str:
    """The noun a label names: its last word, or a two-word group noun ("teddy bear", "trash can")."""
    words = label.lower().split()
    for group in CONFUSABLE_NOUNS:
        for noun in group:
            if " " in noun and label.lower().endswith(noun):
                return noun
    return words[-1] if words else ""


def confusable_label(label: str, labels_in_view: Mapping[int, str], rng: np.random.Generator) -> str | None:
    """A label a segmenter could give instead of ``label``: another label in view with the same head
    noun, else a noun from the same ``CONFUSABLE_NOUNS`` group; None when there is none."""
    noun = head_noun(label)
    same_noun = sorted({t for t in labels_in_view.values() if t != label and head_noun(t) == noun})
    if same_noun:
        return same_noun[int(rng.integers(len(same_noun)))]
    for group in CONFUSABLE_NOUNS:
        if noun in group:
            others = sorted(group - {noun})
            return others[int(rng.integers(len(others)))]
    return None


def _drop_and_confuse(semantic: np.ndarray, instance: np.ndarray, labels: dict[int, str],
                      config: DegradationConfig, rng: np.random.Generator) -> None:
    """Relabel whole instances in place: dropped ones to 0, confused ones to a confusable label's id
    (added to ``labels`` when the frame has no id for it)."""
    ids = np.unique(instance)
    ids = ids[ids != 0]
    draws = rng.random((len(ids), 2))
    for instance_id, (drop, confuse) in zip(ids.tolist(), draws):
        mask = instance == instance_id
        if drop < config.drop_mask_prob:
            semantic[mask] = 0
            continue
        if confuse >= config.confuse_label_prob:
            continue
        category = np.bincount(semantic[mask]).argmax()
        other = confusable_label(labels.get(int(category), ""), labels, rng) if category else None
        if other is not None:
            semantic[mask] = _label_id(labels, other)


def _label_id(labels: dict[int, str], text: str) -> int:
    for category, label in labels.items():
        if label == text:
            return category
    category = max(labels, default=0) + 1
    labels[category] = text
    return category


def _shift(image: np.ndarray, max_px: int, rng: np.random.Generator) -> np.ndarray:
    """``image`` moved by a random (dy, dx) in [-max_px, max_px]; uncovered pixels become 0."""
    if max_px == 0:
        return image
    dy, dx = (int(v) for v in rng.integers(-max_px, max_px + 1, size=2))
    out = np.zeros_like(image)
    h, w = image.shape
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def _noisy_depth(depth: np.ndarray, config: DegradationConfig, rng: np.random.Generator) -> np.ndarray:
    if config.depth_noise_std_m == 0.0 and config.depth_dropout == 0.0:
        return depth
    out = depth.copy()
    valid = np.isfinite(out) & (out > 0)
    if config.depth_noise_std_m > 0.0:
        z = out[valid]
        noise = rng.standard_normal(z.shape).astype(np.float32) * np.float32(config.depth_noise_std_m) * z * z
        out[valid] = np.maximum(z + noise, 0.0)
    if config.depth_dropout > 0.0:
        out[rng.random(out.shape) < config.depth_dropout] = 0.0
    return out
