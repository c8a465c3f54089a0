"""One writer per store: an exclusive ``fcntl.flock`` on ``DIR/LOCK``, held for the writer's whole life.

The kernel releases the lock when its holder's process ends, however it ends (SIGKILL included), so a
crashed writer never leaves a stale lock. The holder writes its pid into ``LOCK`` for the error
message of the next writer. Readers (``mem3d map``, ``mem3d store check``, ``open_store_readonly``)
never take the lock.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from mem3d.errors import StoreError

LOCK = "LOCK"
_held: dict[Path, StoreLock] = {}
"""The stores this process holds, by resolved path (``save_map`` inside a writer reuses its lock)."""
_registry = threading.Lock()
PROBE_RETRIES = 5
PROBE_WAIT_S = 0.01
ORPHAN_WAIT_S = 5.0
"""How long to wait for a lock whose writer (the pid in ``LOCK``) is gone: a child that shares its
lock, the checkpoint writer, ends right after it (``mem3d.service.forked``)."""


class StoreLock:
    """The write lock of one store; ``release`` (or the end of the process) lets another writer in."""

    def __init__(self, store: Path, fd: int) -> None:
        self.store, self._fd = store, fd

    @classmethod
    def acquire(cls, store: str | Path) -> StoreLock:
        """Take the lock without waiting; ``StoreError`` "store DIR is in use by pid N" if it is held."""
        store = Path(store)
        key = store.resolve()
        with _registry:
            if key in _held:
                raise StoreError(f"store {store} is in use by pid {os.getpid()} (this process)")
            fd = os.open(store / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                _flock_exclusive(fd, store)
            except BaseException:
                os.close(fd)
                raise
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            lock = cls(store, fd)
            _held[key] = lock
            return lock

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is None:
            return
        with _registry:
            _held.pop(self.store.resolve(), None)
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None


def _flock_exclusive(fd: int, store: Path) -> None:
    """Take the lock, retrying briefly: a reader's probe (``lock_holder``) holds it for microseconds."""
    for _ in range(PROBE_RETRIES):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                raise StoreError(f"cannot lock store {store}: {error}") from error
        time.sleep(PROBE_WAIT_S)
    holder = lock_holder(store)
    deadline = time.monotonic() + ORPHAN_WAIT_S
    while holder and not _running(holder) and time.monotonic() < deadline:
        time.sleep(PROBE_WAIT_S)  # the writer died: its checkpoint writer follows it (mem3d.service.forked)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError:
            holder = lock_holder(store)
    raise StoreError(f"store {store} is in use by pid {holder}" if holder else f"store {store} is in use")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lock_holder(store: str | Path) -> int | None:
    """The pid of the process holding the store's write lock (0 if it has not written it yet), or None
    if no process holds it. Probes with a shared lock for a moment, so it never blocks."""
    path = Path(store) / LOCK
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            text = os.pread(fd, 32, 0).decode(errors="replace").strip()
            return int(text) if text.isdigit() else 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


@contextmanager
def writing(store: str | Path):
    """Hold the store's write lock for a block, unless this process holds it already (a writer's own
    checkpoint)."""
    with _registry:
        already = Path(store).resolve() in _held
    if already:
        yield
        return
    lock = StoreLock.acquire(store)
    try:
        yield
    finally:
        lock.release()
