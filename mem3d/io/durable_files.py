"""Helpers for writes that must survive a crash: fsync of files and directories, atomic replace."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(directory: Path) -> None:
    """Make the directory's entries (creations, renames, deletions) durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """fsync every file and directory below ``root``."""
    for directory, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(directory, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(directory))


def atomic_write_text(target: Path, text: str) -> None:
    """Replace ``target`` with ``text`` so that readers see the old or the new content, never a mix."""
    atomic_write_bytes(target, text.encode())


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` durably (fsynced, renamed atomically, directory fsynced)."""
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(staging, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staging, target)
    fsync_dir(target.parent)
