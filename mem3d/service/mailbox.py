"""Results handed from a thread to the service loop: a queue, and a pipe the loop polls with its sockets."""

from __future__ import annotations

import os
import queue


class Mailbox:
    """One thread ``post``s, another ``take``s; ``wake_fd`` is readable while results wait."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)

    @property
    def wake_fd(self) -> int:
        return self._wake_read

    def post(self, item) -> None:
        self._queue.put(item)
        try:
            os.write(self._wake_write, b"\0")
        except BlockingIOError:  # the pipe is full of wake-ups already: the reader will look
            pass

    def take(self, timeout: float | None = 0.0) -> list:
        """The items waiting, oldest first; with a ``timeout`` (seconds, None = forever) wait for one."""
        try:
            while os.read(self._wake_read, 4096):
                pass
        except BlockingIOError:
            pass
        found = []
        try:
            if timeout != 0.0:
                found.append(self._queue.get(timeout=timeout))
            while True:
                found.append(self._queue.get_nowait())
        except queue.Empty:
            return found

    def close(self) -> None:
        os.close(self._wake_read)
        os.close(self._wake_write)
