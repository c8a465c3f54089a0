"""The demo's sight watch counts a frame for a point only when the true depth passes beyond it."""

import numpy as np
import pytest

from mem3d.apps.demo_sight import SightWatch
from mem3d.geometry import transform_points

pytestmark = pytest.mark.edge


def _ray_points(obs, fractions):
    """World points on the ray through the image centre at ``fractions`` of its observed depth."""
    k = obs.intrinsics
    v, u = k.height // 2, k.width // 2
    depth = float(obs.depth[v, u])
    assert depth > 1.0
    ray = np.array([(u - k.cx) / k.fx, (v - k.cy) / k.fy, 1.0])
    camera = np.array([ray * depth * f for f in fractions])
    return transform_points(obs.T_world_camera, camera)


def test_points_in_front_of_the_surface_are_seen_through_and_points_behind_it_are_not(source):
    first = source.reset(0)
    points = _ray_points(first, [0.5, 0.9, 1.5])  # mid-air, just in front of the surface, behind it
    watch = SightWatch(source, points, binning=4)
    watch.observe()
    watch.observe()
    assert watch.glimpsed.tolist() == [2, 2, 0]
    assert watch.seen_through.tolist() == [2, 2, 0]
    assert watch.state == source.state  # everything else is the source's


def test_a_point_at_the_edge_of_a_nearer_object_can_be_glimpsed_at_full_resolution_only(source):
    obs = source.reset(0)
    k, depth = obs.intrinsics, obs.depth
    # a pixel whose right neighbour is much nearer: min-pooling lets the nearer surface win its block
    rows, cols = np.nonzero((depth[:, 1:] < 0.7 * depth[:, :-1]) & (depth[:, 1:] > 0.3))
    rows, cols = rows[cols % 4 == 2], cols[cols % 4 == 2]  # both pixels in one 4x4 block
    assert rows.size, "the first view of the apartment has a depth edge"
    v, u = int(rows[0]), int(cols[0])
    ray = np.array([(u - k.cx) / k.fx, (v - k.cy) / k.fy, 1.0])
    point = transform_points(obs.T_world_camera, (ray * depth[v, u] * 0.8)[None])
    watch = SightWatch(source, point, binning=4)
    watch.observe()
    assert watch.glimpsed.tolist() == [1] and watch.seen_through.tolist() == [0]
