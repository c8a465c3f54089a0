"""Queries while frames are applied: every answer is the memory exactly as of the frame it names."""

import itertools
import threading

import numpy as np
import zmq

from mem3d.geometry import look_at
from mem3d.protocol.replies import LocalizeReply
from mem3d.protocol.requests import LocalizeRequest
from mem3d.protocol.wire import decode, encode
from mem3d.voxel_map import MapConfig, VoxelMap
from tests.helpers.synthetic_room import BOOK, DIM, FLOOR, MUG, client_of, frame_of

CONCEPTS = (MUG, BOOK, FLOOR)


class RawQuerier:
    """A DEALER that reads the whole ``LocalizeReply``, freshness fields included."""

    def __init__(self, endpoint: str) -> None:
        self.socket = zmq.Context.instance().socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(endpoint)
        self._ids = itertools.count(1)

    def localize(self, embedding: np.ndarray) -> LocalizeReply:
        request_id = next(self._ids)
        self.socket.send_multipart(encode(LocalizeRequest(embedding=embedding).to_message(request_id)))
        assert self.socket.poll(10_000), "no reply"
        reply = decode(self.socket.recv_multipart())
        assert reply.id == request_id
        return LocalizeReply.from_message(reply)

    def close(self) -> None:
        self.socket.close()


def test_answers_during_ingest_equal_a_reference_map_at_the_reported_seq(start_service, scene, concepts, camera):
    frames = [frame_of(scene, concepts, camera, i, T_world_camera=look_at(
        (-1.0 + 0.2 * i, 0.15 * i - 0.8, 1.2), (3.0, 0.4 * np.cos(i), 0.4))) for i in range(10)]
    reference = VoxelMap(MapConfig(feature_dim=DIM, feature_model="synthetic"))
    expected = [{c: reference.localize(concepts[c]) for c in CONCEPTS}]  # seq 0: nothing yet
    for frame in frames:
        reference.update(frame)
        expected.append({c: reference.localize(concepts[c]) for c in CONCEPTS})
    assert len({str(answers[MUG]) for answers in expected}) > 3  # the answers do change frame by frame

    service = start_service()
    stop = threading.Event()
    seen: list[tuple[int, LocalizeReply]] = []

    def query() -> None:
        querier = RawQuerier(service.endpoints["requests"])
        try:
            for concept in itertools.cycle(CONCEPTS):
                if stop.is_set():
                    return
                seen.append((concept, querier.localize(concepts[concept])))
        finally:
            querier.close()

    thread = threading.Thread(target=query)
    thread.start()
    checker = RawQuerier(service.endpoints["requests"])
    try:
        with client_of(service) as client:
            for frame in frames:
                ack = client.ingest(frame, "cam")
                after = checker.localize(concepts[MUG])  # an acknowledged frame is in every later answer
                assert after.seq >= ack.seq and after.to_result() == expected[after.seq][MUG]
    finally:
        stop.set()
        thread.join(timeout=20)
        checker.close()
    assert len(seen) > 20
    for concept, reply in seen:
        assert 0 <= reply.seq <= reply.applied_seq <= len(frames)
        assert reply.to_result() == expected[reply.seq][concept], (concept, reply.seq)
    assert len({reply.seq for _, reply in seen}) >= 4  # the queries ran while the frames went in
