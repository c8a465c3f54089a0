"""``OpenClipEncoder``: open_clip CLIP models on real camera images, dense via MaskCLIP.

Weights come from an open_clip pretrained tag (open_clip downloads and caches them the first time, on a
machine with internet) or from a local checkpoint file. Dense features are the MaskCLIP read-out of the
ViT patch tokens (``perception.encoders.maskclip``) on the whole image, resized so its long side has
``input_long_side`` pixels; the patch grid is bilinearly upsampled and renormalised into the palette.
"""

from __future__ import annotations

import difflib
import os
import pickle
import socket
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import open_clip
import torch
import torch.nn.functional as F

from mem3d.encoder import EncoderInfo
from mem3d.errors import InvalidInputError, NotAvailableError
from mem3d.types import Observation
from perception.config import OpenClipConfig
from perception.encoders.base import DenseFeatures, EncoderBase, require_rgb, require_texts
from perception.encoders.maskclip import check_dense_capable, dense_patch_features, patch_grid
from perception.encoders.torch_device import resolve_device

ENCODER_NAME = "open-clip"


def _weights(config: OpenClipConfig) -> tuple[str | None, str]:
    """(value for open_clip's ``pretrained``, name of the weights for the map's metadata)."""
    if config.arch not in open_clip.list_models():
        close = difflib.get_close_matches(config.arch, open_clip.list_models(), n=5)
        raise InvalidInputError(f"unknown open_clip architecture {config.arch!r}; close matches: {close} "
                                "(all: open_clip.list_models())")
    if config.pretrained is None:
        return None, "random-init"
    tags = open_clip.list_pretrained_tags_by_model(config.arch)
    if config.pretrained in tags:
        _require_obtainable(config.arch, config.pretrained)
        return config.pretrained, config.pretrained
    path = Path(config.pretrained).expanduser()
    if path.is_dir():
        raise InvalidInputError(f"pretrained {str(path)!r} is a directory: give the checkpoint file in it "
                                "(e.g. open_clip_pytorch_model.bin)")
    if not path.is_file():
        raise InvalidInputError(f"checkpoint file {str(path)!r} not found, and it is not a pretrained tag "
                                f"of {config.arch} (known tags: {', '.join(tags) or 'none'})")
    return str(path), f"file:{path.name}"


def _require_obtainable(arch: str, tag: str, timeout_s: float = 3.0) -> None:
    """Fail fast offline: weights of a pretrained tag must be in the local cache, or their host must
    answer within ``timeout_s`` (open_clip would otherwise retry a download for about a minute)."""
    cfg = open_clip.pretrained.get_pretrained_cfg(arch, tag)
    repo = (cfg.get("hf_hub") or "").strip("/")
    if repo:
        from huggingface_hub import try_to_load_from_cache

        names = (open_clip.pretrained.HF_SAFE_WEIGHTS_NAME, open_clip.pretrained.HF_WEIGHTS_NAME)
        if any(isinstance(try_to_load_from_cache(repo, name), str) for name in names):
            return
        host = "huggingface.co"
    else:
        host = urlparse(cfg.get("url", "")).hostname
        if host is None:
            return
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    try:
        if not offline:
            socket.create_connection((host, 443), timeout=timeout_s).close()
            return
    except OSError:
        pass
    raise NotAvailableError(f"the {arch} weights {tag!r} are not on this machine and {host} cannot be reached: "
                            "fetch them where there is internet, or pass a checkpoint file with "
                            "--encoder-option pretrained=/path/to/open_clip_pytorch_model.bin")


def _create_model(config: OpenClipConfig, pretrained: str | None, weights_name: str,
                  device: torch.device) -> torch.nn.Module:
    """open_clip's model with the weights loaded; load failures become ``Mem3dError``s."""
    try:
        return open_clip.create_model(config.arch, pretrained=pretrained, device=device,
                                      precision=config.precision)
    except (RuntimeError, AssertionError, pickle.UnpicklingError, EOFError, KeyError, ValueError,
            OSError) as error:  # open_clip asserts on some shape mismatches (text pos_embed width)
        reason = "\n".join(str(error).splitlines()[:4]) or type(error).__name__  # a mismatch lists every tensor
        if weights_name.startswith("file:"):
            raise InvalidInputError(f"could not load checkpoint {pretrained!r} into {config.arch}: "
                                    f"{reason}") from error
        raise NotAvailableError(f"could not fetch {config.arch} weights {pretrained!r} ({reason}); "
                                "offline, pass the path of a downloaded checkpoint instead") from error


@lru_cache(maxsize=16)
def cell_index_map(height: int, width: int, rows: int, cols: int) -> np.ndarray:
    """(height, width) int32 read-only map of the grid cell (row-major) under each pixel centre."""
    r = np.minimum(((np.arange(height) + 0.5) * rows / height).astype(np.int32), rows - 1)
    c = np.minimum(((np.arange(width) + 0.5) * cols / width).astype(np.int32), cols - 1)
    index = (r[:, None] * cols + c[None, :]).astype(np.int32)
    index.setflags(write=False)
    return index


class OpenClipEncoder(EncoderBase):
    """Dense MaskCLIP image features and CLIP text features from one open_clip model."""

    name = ENCODER_NAME
    config_type = OpenClipConfig

    def __init__(self, config: OpenClipConfig | None = None) -> None:
        self.config = config = config or OpenClipConfig()
        if config.num_threads:
            torch.set_num_threads(config.num_threads)
        pretrained, weights_name = _weights(config)
        self.device = resolve_device(config.device)
        self.model = _create_model(config, pretrained, weights_name, self.device).eval()
        check_dense_capable(self.model.visual)
        self.tokenizer = open_clip.get_tokenizer(config.arch)
        preprocess = open_clip.get_model_preprocess_cfg(self.model)
        self._mean = torch.tensor(preprocess["mean"], device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(preprocess["std"], device=self.device).view(1, 3, 1, 1)
        self._dtype = self.model.visual.conv1.weight.dtype
        dim = int(self.model.visual.output_dim)
        self._info = EncoderInfo(ENCODER_NAME, f"{config.arch}/{weights_name}", dim,
                                 float(config.match_threshold))
        text_dim = self.encode_text(["object"]).shape[1]
        if text_dim != dim:
            raise InvalidInputError(f"{config.arch}: text features are {text_dim}-d but image features "
                                    f"{dim}-d; not a joint embedding model")

    @property
    def batch_size(self) -> int:
        return self.config.batch_size

    def input_size(self, height: int, width: int) -> tuple[int, int]:
        """(H, W) in pixels the image is resized to: long side ~``input_long_side``, patch multiples."""
        patch_h, patch_w = self.model.visual.patch_size
        scale = self.config.input_long_side / max(height, width)
        return (max(1, round(height * scale / patch_h)) * patch_h,
                max(1, round(width * scale / patch_w)) * patch_w)

    def _pixels(self, images: Sequence[np.ndarray], size: tuple[int, int]) -> torch.Tensor:
        """(B, 3, *size) normalised model input from (H, W, 3) uint8 RGB images of one size."""
        batch = torch.from_numpy(np.stack(images)).to(self.device).permute(0, 3, 1, 2).float() / 255.0
        if tuple(batch.shape[-2:]) != tuple(size):
            batch = F.interpolate(batch, size=size, mode="bilinear", align_corners=False, antialias=True)
        return ((batch - self._mean) / self._std).to(self._dtype)

    @torch.inference_mode()
    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """(n, D) float32: per text, the normalised mean of its prompt-template features."""
        texts = require_texts(texts)
        total = None
        for template in self.config.text_templates:
            tokens = self.tokenizer([template.format(t) for t in texts]).to(self.device)
            features = F.normalize(self.model.encode_text(tokens).float(), dim=-1)
            total = features if total is None else total + features
        return F.normalize(total, dim=-1).cpu().numpy().astype(np.float32)

    @torch.inference_mode()
    def _dense_chunk(self, images: list[np.ndarray]) -> list[DenseFeatures]:
        height, width = images[0].shape[:2]
        size = self.input_size(height, width)
        grid = dense_patch_features(self.model.visual, self._pixels(images, size))
        rows, cols = (n * self.config.upsample for n in patch_grid(self.model.visual, *size))
        grid = grid.permute(0, 3, 1, 2).float()
        if self.config.upsample > 1:
            grid = F.interpolate(grid, size=(rows, cols), mode="bilinear", align_corners=False)
        palettes = F.normalize(grid.flatten(2).transpose(1, 2), dim=-1).cpu().numpy()
        index_map = cell_index_map(height, width, rows, cols)
        return [DenseFeatures(np.ascontiguousarray(p, dtype=np.float32), index_map) for p in palettes]

    def encode_dense_batch(self, observations: Sequence[Observation]) -> list[DenseFeatures]:
        """Palette = (upsampled) patch features, index_map = the cell under each pixel, per
        observation; runs of equal-size images go through the model in batches of ``batch_size``."""
        images = [obs.validate().rgb for obs in observations]
        out: list[DenseFeatures] = []
        start = 0
        while start < len(images):
            stop = start + 1
            while (stop < len(images) and stop - start < self.config.batch_size
                   and images[stop].shape == images[start].shape):
                stop += 1
            out.extend(self._dense_chunk(images[start:stop]))
            start = stop
        return out

    @torch.inference_mode()
    def encode_image_global(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """(n, D) float32 CLIP image features (shortest side resized to the model's size, centre crop)."""
        if len(images) == 0:
            raise InvalidInputError("encode_image_global needs at least one image")
        size = self.model.visual.image_size[0]
        features = []
        for i, image in enumerate(images):
            image = require_rgb(f"image {i}", image)
            height, width = image.shape[:2]
            scale = size / min(height, width)
            resized = (max(size, round(height * scale)), max(size, round(width * scale)))
            pixels = self._pixels([image], resized)
            top, left = (resized[0] - size) // 2, (resized[1] - size) // 2
            features.append(self.model.encode_image(pixels[..., top:top + size, left:left + size]))
        return F.normalize(torch.cat(features).float(), dim=-1).cpu().numpy()
