"""``occupancy`` over real sockets: the grid of the frames acknowledged, at the seq it reflects."""

from __future__ import annotations

import numpy as np
import pytest

from mem3d.client import ServiceError
from mem3d.nav.traversability import FREE, OCCUPIED
from tests.helpers.synthetic_room import client_of, frame_of


def test_occupancy_reflects_each_acknowledged_frame(start_service, scene, concepts, camera):
    service = start_service()
    with client_of(service) as client:
        empty = client.occupancy()
        assert empty.seq == 0 and empty.codes.size == 0 and empty.stamp == -np.inf
        acks = [client.ingest(frame_of(scene, concepts, camera, obs_id), "cam") for obs_id in range(2)]
        grid = client.occupancy()
        assert grid.seq == acks[-1].seq and grid.stamp == pytest.approx(11.0)
        wall = client.occupancy((3.02, -0.5, 3.08, 0.5))
        assert (wall.codes == OCCUPIED).any() and wall.col0 == 60
        floor = client.occupancy((0.8, -0.1, 1.0, 0.1))
        assert (floor.codes == FREE).mean() > 0.7 and not (floor.codes == OCCUPIED).any()  # sampled floor
        assert (floor.last_seen == 11.0).any()
        assert client.occupancy(since_seq=grid.seq).codes.size == 0  # nothing changed since
        ack = client.ingest(frame_of(scene, concepts, camera, 2), "cam")
        later = client.occupancy(since_seq=grid.seq)
        assert later.seq == ack.seq and later.codes.size > 0  # the cells the third view saw again
        with pytest.raises(ServiceError, match="region"):
            client.occupancy((1.0, 0.0, 0.0, 1.0))
        with pytest.raises(ServiceError, match="since_seq"):
            client.occupancy(since_seq=-1)


def test_a_restarted_service_serves_the_same_grid(start_service, scene, concepts, camera, tmp_path):
    service = start_service(store=tmp_path / "memory")
    with client_of(service) as client:
        for obs_id in range(2):
            client.ingest(frame_of(scene, concepts, camera, obs_id), "cam")
        before = client.occupancy()
    start_service.stop(service)
    again = start_service(store=tmp_path / "memory")
    with client_of(again) as client:
        after = client.occupancy()
    assert after.seq == before.seq
    np.testing.assert_array_equal(after.codes, before.codes)
