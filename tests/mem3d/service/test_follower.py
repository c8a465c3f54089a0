"""The replica follower: the loop's front view is never written while it is the front, a published view
holds exactly the frames whose acks come with it, and both views end up equal to the map."""

import numpy as np
import pytest

from mem3d.service.checkpoints import CheckpointPolicy
from mem3d.service.durable import DurableMemory
from mem3d.service.follower import Published, ReplicaFollower
from mem3d.service.ingest import Answer, Applied, IngestWorker, Stopped
from mem3d.service.replica import MapReplica
from tests.mem3d.service.stores import CONFIG, ingest_of, make_frames, reference
from tests.mem3d.service.test_replica import assert_replica_matches

WAIT_S = 30.0


@pytest.fixture
def frames(scene, concepts, camera):
    return make_frames(scene, concepts, camera, 6)


@pytest.fixture
def pipeline(tmp_path):
    memory = DurableMemory(tmp_path, CONFIG)
    memory.map.track_changes()
    worker = IngestWorker(memory, CheckpointPolicy(10_000, 1e6))
    follower = ReplicaFollower(memory.map.contents(), memory.seq, memory.map.voxel_size, None,
                               worker.results, lambda update: [b"announced", str(update.obs_id).encode()])
    follower.start()
    worker.start()
    yield memory, worker, follower
    worker.request_stop()
    while not any(isinstance(r, Stopped) for r in follower.mailbox.take(timeout=WAIT_S)):
        pass
    worker.join()
    follower.join()
    memory.close(checkpoint=False)


def submit(worker: IngestWorker, frames, first: int = 0) -> None:
    worker.submit([([bytes([first + i])], ingest_of(frame).frames) for i, frame in enumerate(frames)])


def next_published(follower: ReplicaFollower) -> Published:
    while True:
        results = follower.mailbox.take(timeout=WAIT_S)
        assert results, f"nothing published within {WAIT_S} s"
        published = [r for r in results if isinstance(r, Published)]
        if published:
            assert len(published) == 1  # the follower waits for the swap before the next one
            return published[0]


def test_a_published_view_holds_exactly_the_frames_acknowledged_with_it(pipeline, frames):
    memory, worker, follower = pipeline
    submit(worker, frames[:2])
    acked = 0
    while acked < 2:
        published = next_published(follower)
        seqs = [r.seq for r in published.results if isinstance(r, Applied)]
        assert seqs and published.view.seq == max(seqs)
        assert_replica_matches(published.view.replica, reference(frames[: published.view.seq]))
        assert [r.announcement for r in published.results if isinstance(r, Applied)] == [
            [b"announced", str(frames[s - 1].obs_id).encode()] for s in seqs]
        follower.swap(published)
        acked = published.view.seq
    assert follower.front.seq == 2


def test_the_front_view_is_not_written_until_the_loop_swaps(pipeline, frames):
    memory, worker, follower = pipeline
    initial_front = follower.front
    before = {name: rows.copy() for name, rows in initial_front.replica.contents().columns.items()}
    submit(worker, frames[:1])
    first = next_published(follower)
    assert first.view is not initial_front
    submit(worker, frames[1:4], first=1)  # applied by the worker; the follower must wait for the swap
    assert [r for r in follower.mailbox.take(timeout=1.0) if isinstance(r, Published)] == []
    after = initial_front.replica.contents().columns
    assert all(np.array_equal(after[name], rows) for name, rows in before.items())
    assert initial_front.seq == 0
    follower.swap(first)
    seq = first.view.seq
    while seq < 4:
        published = next_published(follower)
        follower.swap(published)
        seq = published.view.seq
    assert_replica_matches(follower.front.replica, memory.map)
    assert follower.front.traversability.seq == 4
    submit(worker, frames[4:], first=4)  # the other view catches up through the frames it lacked
    while seq < len(frames):
        published = next_published(follower)
        follower.swap(published)
        seq = published.view.seq
    assert_replica_matches(follower.front.replica, memory.map)


def test_refusals_and_duplicates_keep_their_order_with_the_frames(pipeline, frames):
    memory, worker, follower = pipeline
    submit(worker, [frames[0], frames[0], frames[1]])  # the second is a duplicate
    order = []
    while len(order) < 3:
        for result in follower.mailbox.take(timeout=WAIT_S):
            items = result.results if isinstance(result, Published) else (result,)
            if isinstance(result, Published):
                follower.swap(result)
            order += [(type(item).__name__, item.envelope) for item in items if isinstance(item, (Applied, Answer))]
    # the worker answers a batch's duplicates once its fsync returned, then applies its frames
    assert order == [("Answer", [b"\1"]), ("Applied", [b"\0"]), ("Applied", [b"\2"])]
    assert follower.front.seq == 2


def test_a_follower_that_cannot_apply_a_frame_stops_the_service_with_its_error(pipeline, frames, monkeypatch):
    memory, worker, follower = pipeline

    def broken(self, changes, seq):
        raise RuntimeError("replica broken")

    monkeypatch.setattr(MapReplica, "apply", broken)
    submit(worker, frames[:1])
    results = follower.mailbox.take(timeout=WAIT_S)
    stopped = [r for r in results if isinstance(r, Stopped)]
    assert stopped and "replica broken" in str(stopped[0].error)
    follower.mailbox.post(Stopped(None))  # the follower ended: this is what the fixture's teardown waits for
