"""The episodic queries over real sockets: typed replies, the seq they reflect, errors that change nothing."""

import numpy as np
import pytest

from mem3d.client import MemoryClient, ServiceError
from mem3d.episodic.images import decode_depth
from mem3d.episodic.results import EventKind
from mem3d.voxel_map import MapConfig
from tests.helpers.synthetic_room import BOOK, DIM, ConceptEncoder
from tests.mem3d.service.stores import make_frames


def test_episodic_requests_answer_as_of_the_newest_acknowledged_frame(start_service, scene, concepts, camera):
    service = start_service(map=MapConfig(feature_dim=DIM), text_encoder=ConceptEncoder(concepts))
    frames = make_frames(scene, concepts, camera, 10)
    with MemoryClient.of_service(service.endpoints) as client:
        seqs = [client.ingest(frame, "cam").seq for frame in frames]
        seen = client.where_last_seen("mug")
        assert seen.found and seen.seq == seqs[-1]
        mug = seen.sighting
        assert np.linalg.norm(np.array(mug.position)[:2] - (1.5, 0.0)) < 0.3
        assert mug.status == "present" and mug.keyframe is not None
        image = client.keyframe_image(mug.keyframe.id)
        width, height = mug.keyframe.intrinsics[4:]
        assert decode_depth(image.depth_png.tobytes()).shape == (height, width) == frames[0].depth.shape
        history = client.history(embedding=concepts[BOOK])  # the book, by embedding
        assert history.found and history.events[0].kind is EventKind.SEEN
        assert client.when_seen("mug").intervals[-1].end == pytest.approx(frames[-1].stamp)
        assert client.changes_since(0.0).events == ()  # nothing changed in the room
        places = client.places()
        assert len(places.places) >= 2 and places.seq == seqs[-1]
        a, b, length = places.edges[0]
        route = client.route(a, b)
        assert route.found and route.places == (a, b) and route.length_m == pytest.approx(length)
        present = client.what_was_at(frames[-1].stamp, region=((1.0, -0.5, 0.0), (2.0, 0.5, 1.0)))
        assert mug.instance in {s.instance for s in present.instances}
        for bad in (lambda: client.route(0, 99), lambda: client.changes_since(0.0, place=99),
                    lambda: client.what_was_at(1.0), lambda: client.keyframe_image(12345)):
            with pytest.raises(ServiceError) as error:
                bad()
            assert error.value.code == "invalid_input"
        with pytest.raises(ValueError):
            client.where_last_seen("mug", embedding=concepts[2])
        assert client.where_last_seen("mug").sighting == mug  # the errors changed nothing
