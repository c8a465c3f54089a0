"""Many clients at once: eight query clients while frames stream in; every request is answered."""

import threading
import time

from mem3d.geometry import look_at
from tests.helpers.synthetic_room import MUG, client_of, frame_of


def test_concurrent_queries_during_ingest_all_succeed(start_service, scene, concepts, camera):
    service = start_service()
    with client_of(service) as client:
        client.ingest(frame_of(scene, concepts, camera, 0), "cam")
    stop = threading.Event()
    results: list[list] = [[] for _ in range(8)]
    errors: list[Exception] = []

    def query(slot: int) -> None:
        try:
            with client_of(service, timeout=10) as client:
                while not stop.is_set():
                    results[slot].append(client.localize(embedding=concepts[MUG]).found)
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=query, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    with client_of(service) as client:
        for i in range(1, 25):
            pose = look_at((-1.0 + 0.03 * i, 0.05 * i, 1.2), (3.0, 0.0, 0.4))
            assert client.ingest(frame_of(scene, concepts, camera, i, T_world_camera=pose), "cam").seq == i + 1
            time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join(timeout=20)
    assert not errors
    assert all(len(r) >= 3 and all(r) for r in results)
