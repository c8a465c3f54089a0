"""A seeded simulator episode for the episodic tests: a tour, a rearrangement and a removal, a second
tour, at 160x120 with label perception; the memory sees only the feature frames."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mem3d.episodic.config import EpisodicConfig
from mem3d.episodic.memory import EpisodicMemory
from mem3d.types import FeatureFrame
from mem3d.voxel_map import MapConfig, VoxelMap

SCENE_SEED = 1


@dataclass
class Episode:
    source: object
    """The ``EmbeddedSimSource`` (ground truth for scoring only)."""
    memory: EpisodicMemory
    voxel_map: VoxelMap
    frames: list[FeatureFrame] = field(default_factory=list)
    instance_images: dict[int, np.ndarray] = field(default_factory=dict)
    """obs_id -> the simulator's instance image (scoring only)."""
    current_places: list[int] = field(default_factory=list)
    """The place each frame was assigned to, in order."""
    sizes: list[tuple[int, int]] = field(default_factory=list)
    """(voxels, keyframes) after each frame."""
    changed_at: float = 0.0
    changes: list = field(default_factory=list)
    """The simulator's ``ChangeEvent``s of the rearrangement and the removal."""


def map_config(encoder) -> MapConfig:
    info = encoder.info
    return MapConfig(feature_dim=info.feature_dim, feature_model=info.model_id)


def run_episode(encoder, config: EpisodicConfig | None = None, changes: bool = True) -> Episode:
    """Tour the apartment; then (``changes``) move 30% of the small objects and remove one more that
    the memory knows, and tour again."""
    from bench.episodic_driver import tour
    from perception.config import FrameConfig
    from perception.frames import build_feature_frame
    from sim.config import CameraConfig, SimConfig
    from sim.embedded import EmbeddedSimSource
    from sim.scene import ObjectKind

    source = EmbeddedSimSource(config=SimConfig(seed=SCENE_SEED, camera=CameraConfig(width=160, height=120)))
    voxel_map = VoxelMap(map_config(encoder))
    memory = EpisodicMemory(config, voxel_map.voxel_size, encoder.info.match_threshold)
    episode = Episode(source, memory, voxel_map)
    frame_config = FrameConfig(n_samples=4000)

    def observe(observations) -> None:
        for obs in observations:
            frame = build_feature_frame(obs, encoder, frame_config)
            memory.record(frame, voxel_map.update(frame), voxel_map, seq=len(episode.frames) + 1)
            episode.frames.append(frame)
            episode.instance_images[obs.obs_id] = obs.instance
            episode.current_places.append(memory.places.current)
            episode.sizes.append((len(voxel_map), len(memory.keyframes)))

    observe([source.reset(0)])
    observe(tour(source))
    if changes:
        episode.changed_at = source.observe().stamp
        moved = source.dynamics.rearrange(fraction=0.3, seed=5).events
        known = [o for o in source.scene.of_kind(ObjectKind.SMALL) if o.support_id
                 and o.instance_id not in {e.instance_id for e in moved} and _is_known(memory, o)]
        episode.changes = moved + source.dynamics.remove_object(known[0].instance_id)
        observe(tour(source))
    return episode


def _is_known(memory: EpisodicMemory, obj) -> bool:
    lo, hi = obj.world_bounds()
    return any(np.linalg.norm(inst.position - (lo + hi) / 2) < 0.15 for inst in memory.instances.values())


def room_of(source, xy) -> str:
    room = source.scene.room_at(float(xy[0]), float(xy[1]))
    return room.name if room else ""
