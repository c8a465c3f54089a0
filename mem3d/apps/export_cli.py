"""``mem3d export STORE``: the map for the viewers people already use.

    mem3d export STORE --ply map.ply                      voxel centres coloured by RGB (open3d, MeshLab, ...)
    mem3d export STORE --ply mug.ply --query "white mug"  coloured by similarity to the text (inferno)
    mem3d export STORE --rerun map.rrd                    a recording for the Rerun viewer (rerun-sdk extra)

PLY files are written by open3d's writer (binary, float x y z, uchar red green blue) and read back by
it. The Rerun recording holds the map (and the similarity cloud with ``--query``), and the camera
trajectory with a "stamp" timeline: the poses of the frames still in the write-ahead log (those after
the last checkpoint; a checkpoint keeps the map, not the poses). Keyframes and episodic events join the
timeline once stores hold episodic memory.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mem3d.apps.offline import open_view, text_encoder_for
from mem3d.errors import InvalidInputError


@dataclass(frozen=True)
class CloudExport:
    """What goes into an export: voxel positions (N, 3) world metres and (N, 3) uint8 RGB colours."""

    positions: np.ndarray
    colors: np.ndarray
    similarity: np.ndarray | None
    """(N,) cosine to the query, when one was given."""


@dataclass(frozen=True)
class CameraPose:
    stamp: float
    obs_id: int
    T_world_camera: np.ndarray


def similarity_colours(similarity: np.ndarray) -> np.ndarray:
    """(N, 3) uint8 RGB: the inferno colour map over the similarity's range in the map."""
    import cv2

    low, high = float(similarity.min(initial=0.0)), float(similarity.max(initial=1.0))
    level = np.clip((similarity - low) / max(high - low, 1e-6) * 255, 0, 255).astype(np.uint8)
    return cv2.applyColorMap(level[:, None], cv2.COLORMAP_INFERNO)[:, 0, ::-1].copy()


def cloud(view, query: str | None) -> CloudExport:
    """The map's voxels, with the similarity to ``query`` when given."""
    voxel_map = view.voxel_map
    columns = voxel_map.contents().columns
    positions, colors = columns["position"].astype(np.float64), columns["color"].copy()
    if query is None:
        return CloudExport(positions, colors, None)
    config = voxel_map.config
    encoder = text_encoder_for(config.feature_model, config.feature_dim)
    rows, scores = voxel_map.similarity(encoder.encode_text([query])[0])
    similarity = np.full(len(positions), -1.0, np.float32)
    similarity[rows] = scores
    return CloudExport(positions, colors, similarity)


def write_ply(path: Path, export: CloudExport) -> None:
    """Binary PLY of the cloud, by open3d (RGB, or similarity colours when the export has them)."""
    import open3d as o3d

    colours = export.colors if export.similarity is None else similarity_colours(export.similarity)
    points = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(export.positions))
    points.colors = o3d.utility.Vector3dVector(colours.astype(np.float64) / 255.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not o3d.io.write_point_cloud(str(path), points, write_ascii=False):
        raise InvalidInputError(f"open3d could not write {path}")


def logged_poses(view) -> list[CameraPose]:
    """Camera poses of the frames in the write-ahead log after the checkpoint, in log order."""
    from mem3d.io.verify import read_records
    from mem3d.protocol.messages import message_to_frame
    from mem3d.protocol.migrations import upgrade
    from mem3d.protocol.wire import decode

    poses = []
    for ref, frames in read_records(view.report):
        if not ref.loss:
            frame, _ = message_to_frame(decode(upgrade(frames)))
            poses.append(CameraPose(frame.stamp, frame.obs_id, np.asarray(frame.T_world_camera)))
    return poses


def write_rerun(path: Path, export: CloudExport, poses: list[CameraPose], voxel_size: float) -> None:
    """A Rerun recording: world/map (and world/similarity), world/trajectory, world/camera per stamp."""
    import rerun as rr

    recording = rr.RecordingStream("mem3d")
    path.parent.mkdir(parents=True, exist_ok=True)
    recording.save(str(path))
    recording.log("world", rr.ViewCoordinates.RIGHT_HAND_Z_UP, static=True)
    recording.log("world/map", rr.Points3D(export.positions, colors=export.colors, radii=voxel_size / 2),
                  static=True)
    if export.similarity is not None:
        recording.log("world/similarity", rr.Points3D(export.positions, colors=similarity_colours(export.similarity),
                                                      radii=voxel_size / 2), static=True)
    if poses:
        recording.log("world/trajectory", rr.LineStrips3D([np.stack([p.T_world_camera[:3, 3] for p in poses])]),
                      static=True)
    for pose in poses:
        recording.set_time("stamp", duration=pose.stamp)
        recording.set_time("obs_id", sequence=pose.obs_id)
        recording.log("world/camera", rr.Transform3D(translation=pose.T_world_camera[:3, 3],
                                                     mat3x3=pose.T_world_camera[:3, :3]))
    recording.flush()
    recording.disconnect()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="store directory (written by `mem3d serve` or `mem3d demo`)")
    parser.add_argument("--ply", metavar="OUT.ply", help="write the voxels as a PLY point cloud")
    parser.add_argument("--rerun", metavar="OUT.rrd", help="write a Rerun recording (pip install 'mem3d[rerun]')")
    parser.add_argument("--query", metavar="TEXT", help="colour by similarity to this text instead of RGB")


def _outputs(args: argparse.Namespace) -> tuple[Path | None, Path | None]:
    """The output paths, checked before anything is read or written."""
    if args.ply is None and args.rerun is None:
        raise InvalidInputError("nothing to export: give --ply OUT.ply and/or --rerun OUT.rrd")
    for value, suffix, option in ((args.ply, ".ply", "--ply"), (args.rerun, ".rrd", "--rerun")):
        if value is not None and Path(value).suffix.lower() != suffix:
            raise InvalidInputError(f"{option} needs a path ending in {suffix}, got {Path(value).name}")
    if args.rerun is not None:
        import rerun  # noqa: F401  (missing: the command line names the extra to install)
    return (Path(args.ply) if args.ply else None), (Path(args.rerun) if args.rerun else None)


def run(args: argparse.Namespace) -> int:
    ply, rrd = _outputs(args)
    view = open_view(args.store)
    export = cloud(view, args.query)
    what = "RGB" if args.query is None else f'similarity to "{args.query}"'
    if ply is not None:
        write_ply(ply, export)
        print(f"wrote {ply}: {len(export.positions):,} voxels coloured by {what}")
    if rrd is not None:
        poses = logged_poses(view)
        write_rerun(rrd, export, poses, view.voxel_map.voxel_size)
        print(f"wrote {rrd}: {len(export.positions):,} voxels, {len(poses)} camera poses "
              "(the frames in the log after the last checkpoint)")
    print("open the PLY in MeshLab / CloudCompare / open3d, the recording with `rerun FILE.rrd`", file=sys.stderr)
    return 0
