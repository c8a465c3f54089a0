"""Device choice for torch encoders. Imports torch: only encoder modules import this one."""

from __future__ import annotations

import torch

from mem3d.errors import InvalidInputError, NotAvailableError


def resolve_device(name: str) -> torch.device:
    """"auto" -> the first GPU when CUDA works, else the CPU; otherwise a checked torch device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as error:
        raise InvalidInputError(f"unknown torch device {name!r}: {error}") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise NotAvailableError(f"device {name!r} asked for, but CUDA is not available on this machine")
    return device
