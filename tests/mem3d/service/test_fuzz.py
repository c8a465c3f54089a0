"""Thousands of malformed messages at both endpoints: every one is answered, none changes the memory."""

import random

import msgpack
import numpy as np
import zmq

from mem3d.protocol.messages import frame_to_message
from mem3d.protocol.wire import SCHEMA_VERSION, Message, decode, encode
from tests.helpers.synthetic_room import MUG, client_of, frame_of


def broken_ingests(valid: list[bytes], rng: random.Random):
    """Ingest messages broken in ways that can never make a valid frame."""
    header = msgpack.unpackb(valid[0])
    specs = header["arrays"]
    names = [s[0] for s in specs]

    def with_header(**changes):  # a change to ... removes the field
        h = dict(header)
        h.update(changes)
        return [msgpack.packb({k: v for k, v in h.items() if v is not ...})] + valid[1:]

    def poisoned(name):
        i = names.index(name)
        data = bytearray(valid[1 + i])
        nan = np.array([np.nan], dtype=np.dtype(specs[i][1])).tobytes()
        at = rng.randrange(0, len(data) // len(nan)) * len(nan)
        data[at:at + len(nan)] = nan
        return [valid[0]] + [bytes(data) if j == i else f for j, f in enumerate(valid[1:])]

    def float32_pose():
        i = names.index("T_world_camera")
        pose = np.frombuffer(valid[1 + i], "<f8").astype("<f4").tobytes()
        retyped = with_header(arrays=[[n, "<f4" if n == "T_world_camera" else d, s] for n, d, s in specs])
        return retyped[:1 + i] + [pose] + retyped[2 + i:]

    makers = [
        lambda: [rng.randbytes(rng.randrange(0, 64)) for _ in range(rng.randrange(1, 6))],
        lambda: [valid[0][: rng.randrange(1, len(valid[0]))]] + valid[1:],
        lambda: valid[:rng.randrange(1, len(valid))],
        lambda: valid + [rng.randbytes(8)],
        lambda: [valid[0]] + [f[: max(0, len(f) - rng.randrange(1, 9))] for f in valid[1:]],
        lambda: with_header(v=rng.choice([0, SCHEMA_VERSION - 1, SCHEMA_VERSION + 1, str(SCHEMA_VERSION), None,
                                          float(SCHEMA_VERSION), True])),
        lambda: [msgpack.packb({k.encode(): v for k, v in header.items()}, use_bin_type=True)] + valid[1:],
        lambda: with_header(**{rng.choice(["v", "type", "id", "arrays"]): ...}),
        float32_pose,
        lambda: with_header(obs_id=rng.choice(["7", 1.5, None, [1], -1, 2**63, 2**64 - 1, True])),
        lambda: with_header(stamp=rng.choice([float("nan"), float("inf"), "now"])),
        lambda: with_header(intrinsics=rng.choice([[1, 2, 3], ["a"] * 6, [0, 0, 0, 0, 10, 10], [1] * 7,
                                                   [1, 1, 1, 1, float("inf"), 10], [1, 1, 1, 1, 2**64 - 1, 10],
                                                   [1, 1, 1, 1, 10.5, 10], [float("nan"), 1, 1, 1, 10, 10]])),
        lambda: with_header(arrays=[[n, d, rng.choice([[65536] * 4, [2**31 - 1] * 4, [2**31] * 2])]
                                    for n, d, _ in specs]),
        lambda: with_header(source=rng.choice(["", "x" * 300, 5])),
        lambda: with_header(arrays=[[n, rng.choice(["<f8", "|u1", "<i4", ">f4"]), s] for n, _, s in specs]),
        lambda: with_header(arrays=[[n, d, [x + rng.randrange(1, 3) for x in s]] for n, d, s in specs]),
        lambda: with_header(type=rng.choice(["", "ingest2", "localize", 3])),
        lambda: poisoned("points"),
        lambda: poisoned("T_world_camera"),
        lambda: poisoned("features"),
        lambda: poisoned("depth"),
    ]
    while True:
        yield rng.choice(makers)()


def broken_localizes(embedding_dim: int, rng: random.Random):
    """Localize requests that can never be valid (the service in the test has no text encoder)."""
    def localize(arrays=None, **fields):
        return [bytes(f) for f in encode(Message("localize", rng.randrange(1, 2**63), fields, arrays or {}))]

    good = np.ones(embedding_dim, np.float32) / np.sqrt(embedding_dim)
    makers = [
        lambda: localize({"embedding": good}, top_k=rng.choice([0, 101, -1, 2**63, 2**64 - 1, "5", 1.5, True])),
        lambda: localize({"embedding": good}, threshold=rng.choice([float("nan"), float("inf"), 2.0, "x", [1]])),
        lambda: localize({"embedding": good[: rng.randrange(0, embedding_dim)]}),
        lambda: localize({"embedding": np.full(embedding_dim, np.nan, np.float32)}),
        lambda: localize({"embedding": np.zeros(embedding_dim, np.float32)}),
        lambda: localize({"embedding": good.reshape(1, -1)}),
        lambda: localize({"embedding": good}, text="mug"),
        lambda: localize(text=rng.choice(["mug", 5, b"mug", [1]])),
        lambda: localize(),
    ]
    while True:
        yield rng.choice(makers)()


def test_fuzzing_both_endpoints_never_crashes_or_changes_the_memory(start_service, scene, concepts, camera):
    service = start_service()
    with client_of(service) as client:
        client.ingest(frame_of(scene, concepts, camera, 0), "cam")
        before = client.stats()
        found_before = client.localize(embedding=concepts[MUG])
    valid = [bytes(f) for f in encode(frame_to_message(frame_of(scene, concepts, camera, 1), "fuzz"))]
    rng = random.Random(1)
    context = zmq.Context.instance()
    sockets = {name: context.socket(zmq.DEALER) for name in ("requests", "ingest")}
    for name, socket in sockets.items():
        socket.setsockopt(zmq.LINGER, 0)
        socket.connect(service.endpoints[name])
    replies = {"requests": [], "ingest": []}
    try:
        ingests, localizes = broken_ingests(valid, rng), broken_localizes(concepts.shape[1], rng)
        for i in range(3000):
            name = "ingest" if i % 3 else "requests"
            message = next(localizes if name == "requests" and i % 2 else ingests)
            sockets[name].send_multipart(message)
            assert sockets[name].poll(5000), f"message {i} was not answered"
            reply = sockets[name].recv_multipart()
            if message[0] == b"":  # read as a REQ envelope: the empty delimiter comes back first
                assert reply[0] == b""
                reply = reply[1:]
            replies[name].append(decode(reply))
    finally:
        for socket in sockets.values():
            socket.close()
    every = replies["requests"] + replies["ingest"]
    assert len(every) == 3000
    assert all(reply.type == "error" for reply in every), {r.type for r in every}
    codes = {reply.fields["code"] for reply in every}
    assert {"bad_message", "invalid_input"} <= codes and "internal" not in codes
    with client_of(service) as client:
        after = client.stats()
        assert (after.n_voxels, after.log_seq, after.frames_ingested) == (
            before.n_voxels, before.log_seq, before.frames_ingested)
        assert client.localize(embedding=concepts[MUG]) == found_before
