"""MaskCLIP read-out of dense patch features from an open_clip ``VisionTransformer``.

CLIP trains only its class token against text; MaskCLIP (Zhou et al., ECCV 2022) observed that in the
last attention block the *value* embedding of each patch, passed through the block's output
projection, ``ln_post`` and ``proj``, already lies in the joint image-text space, while the query-key
mixing of that block blurs every patch towards the global context. So the trunk runs all blocks but
the last, and each patch token of the last block is read out as::

    f = proj( ln_post( ls_1( out_proj( W_v ln_1(x) + b_v ) ) ) )          (MaskCLIP: no residual)

``residual=True`` adds the block input back (``x + ...``) before ``ln_post``, which keeps more of the
trunk's low-level signal; MaskCLIP and later work (ClearCLIP) found the residual-free form cleaner.
Inputs larger than the training resolution get a bicubically interpolated positional embedding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mem3d.errors import NotAvailableError


def check_dense_capable(visual: nn.Module) -> None:
    """Raise ``NotAvailableError`` unless ``visual`` is a plain open_clip ViT with standard blocks."""
    from open_clip.transformer import ResidualAttentionBlock, VisionTransformer

    if not isinstance(visual, VisionTransformer):
        raise NotAvailableError(f"MaskCLIP dense features need an open_clip VisionTransformer tower, "
                                f"this model has {type(visual).__name__}")
    last = visual.transformer.resblocks[-1]
    if not isinstance(last, ResidualAttentionBlock) or not isinstance(last.attn, nn.MultiheadAttention):
        raise NotAvailableError(f"MaskCLIP read-out supports standard attention blocks, "
                                f"got {type(last).__name__}")
    if getattr(visual, "attn_pool", None) is not None or visual.proj is None:
        raise NotAvailableError("MaskCLIP read-out needs a class-token ViT with a projection (no attn_pool)")


def patch_grid(visual: nn.Module, height: int, width: int) -> tuple[int, int]:
    """(rows, cols) of patches for an input of ``height`` x ``width`` pixels."""
    patch_h, patch_w = visual.patch_size
    return height // patch_h, width // patch_w


def positional_embedding(visual: nn.Module, grid: tuple[int, int]) -> torch.Tensor:
    """(1 + rows * cols, width) positional embedding resized to ``grid`` (class token kept as is)."""
    table = visual.positional_embedding
    trained = tuple(visual.grid_size)
    if tuple(grid) == trained:
        return table
    cls_row, cells = table[:1], table[1:]
    cells = cells.reshape(1, trained[0], trained[1], -1).permute(0, 3, 1, 2)
    cells = F.interpolate(cells, size=grid, mode="bicubic", align_corners=False)
    return torch.cat([cls_row, cells.permute(0, 2, 3, 1).reshape(grid[0] * grid[1], -1)], dim=0)


def trunk_tokens(visual: nn.Module, pixels: torch.Tensor) -> torch.Tensor:
    """Tokens (B, 1 + rows * cols, width) entering the last block; ``pixels`` (B, 3, H, W) normalised."""
    grid = patch_grid(visual, pixels.shape[-2], pixels.shape[-1])
    x = visual.conv1(pixels).flatten(2).transpose(1, 2)
    cls = visual.class_embedding.to(x.dtype).view(1, 1, -1).expand(x.shape[0], -1, -1)
    x = torch.cat([cls, x], dim=1) + positional_embedding(visual, grid).to(x.dtype)
    x = visual.ln_pre(x)
    batch_first = getattr(visual.transformer, "batch_first", True)
    if not batch_first:
        x = x.transpose(0, 1)
    for block in visual.transformer.resblocks[:-1]:
        x = block(x)
    return x if batch_first else x.transpose(0, 1)


def value_readout(block: nn.Module, x: torch.Tensor, residual: bool = False) -> torch.Tensor:
    """The last block's value path for every token of ``x`` (B, L, width), without query-key mixing."""
    attn = block.attn
    width = attn.embed_dim
    bias = attn.in_proj_bias[2 * width:] if attn.in_proj_bias is not None else None
    values = F.linear(block.ln_1(x), attn.in_proj_weight[2 * width:], bias)
    out = block.ls_1(attn.out_proj(values))
    return x + out if residual else out


def dense_patch_features(visual: nn.Module, pixels: torch.Tensor, residual: bool = False) -> torch.Tensor:
    """(B, rows, cols, D) L2-normalised patch features in the joint text space (MaskCLIP read-out)."""
    rows, cols = patch_grid(visual, pixels.shape[-2], pixels.shape[-1])
    x = trunk_tokens(visual, pixels)
    tokens = value_readout(visual.transformer.resblocks[-1], x, residual)[:, 1:]
    features = visual.ln_post(tokens) @ visual.proj
    return F.normalize(features, dim=-1).reshape(pixels.shape[0], rows, cols, -1)
