"""The voxel budget: which voxels to drop when the map grows beyond ``max_voxels``.

Policy: least recently observed first. A voxel nobody has looked at for the longest time is the most
likely to be stale in a changing world and the least likely to be needed by a planner working where
the robot is now. Eviction runs in batches down to ``low_water`` x budget, so the O(n) selection is
paid once per many frames, not every frame.
"""

from __future__ import annotations

import numpy as np


def select_evictions(last_seen: np.ndarray, budget: int, low_water: float) -> np.ndarray:
    """Slots to evict so that at most ``low_water * budget`` voxels remain, oldest ``last_seen`` first.

    Returns an empty array while the map is within ``budget``.
    """
    n = last_seen.shape[0]
    if n <= budget:
        return np.empty(0, dtype=np.int64)
    keep = int(budget * low_water)
    n_evict = n - keep
    return np.argpartition(last_seen, n_evict - 1)[:n_evict].astype(np.int64)
