"""When the service writes a checkpoint: after so many frames, or after so long with any change."""

from __future__ import annotations

import time


class CheckpointPolicy:
    def __init__(self, every_frames: int, every_s: float) -> None:
        self.every_frames, self.every_s = every_frames, every_s
        self._last = time.monotonic()

    def due(self, frames_since_checkpoint: int) -> bool:
        return (frames_since_checkpoint >= self.every_frames
                or (frames_since_checkpoint > 0 and time.monotonic() - self._last >= self.every_s))

    def restart(self) -> None:
        """A checkpoint was just begun or written: count time from now."""
        self._last = time.monotonic()
