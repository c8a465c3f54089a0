"""Exceptions raised by mem3d. Every error a user can cause is an ``Mem3dError``."""

from __future__ import annotations


class Mem3dError(Exception):
    """Base class of every error mem3d raises on purpose."""


class InvalidInputError(Mem3dError, ValueError):
    """Input with a wrong shape, dtype, non-finite values, a non-rigid pose, an empty frame..."""


class SchemaMismatchError(Mem3dError):
    """Data made for another map: feature dimension, feature model, voxel size or schema version differ."""


class StoreError(Mem3dError):
    """A map store cannot be read or written (missing, truncated, corrupt, or locked)."""


class NotAvailableError(Mem3dError):
    """A feature that needs an optional dependency or a component not built yet."""


class EndOfStreamError(Mem3dError):
    """A finite source (a recorded episode, a bag) has no more observations."""
