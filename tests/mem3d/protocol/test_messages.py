"""Typed messages: exact round trips, and strict decoding that names the field that does not fit."""

import dataclasses
import re
import threading

import numpy as np
import pytest
import zmq

from mem3d.client import MemoryClient, ServiceError
from mem3d.protocol.codec import schema
from mem3d.protocol.replies import ErrorReply, IngestAck, LocalizeReply, Pong, StatsReply
from mem3d.protocol.requests import LocalizeRequest
from mem3d.protocol.wire import ErrorCode, Message, ProtocolError, decode, encode
from tests.mem3d.protocol.catalog import CANDIDATE, EXAMPLES, message_classes


def over_the_wire(message: Message) -> Message:
    return decode([bytes(f) for f in encode(message)])


def same(a, b) -> bool:
    return all(np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y
               for x, y in zip(dataclasses.astuple(a), dataclasses.astuple(b), strict=True))


def test_every_message_type_has_an_example():
    assert {type(example) for example in EXAMPLES} == set(message_classes())


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: type(example).__name__)
def test_every_message_round_trips_exactly(example):
    message = over_the_wire(example.to_message(request_id=42))
    assert message.type == example.TYPE and message.id == 42
    assert same(type(example).from_message(message), example)


def test_nil_and_absent_fields_take_their_defaults():
    message = LocalizeRequest(embedding=np.ones(4, np.float32)).to_message()
    assert message.fields == {"text": None, "top_k": 5, "threshold": None}
    del message.fields["top_k"], message.fields["text"]
    assert LocalizeRequest.from_message(message).top_k == 5


def broken(example, change) -> Message:
    message = over_the_wire(example.to_message(request_id=9))
    change(message)
    return message


STATS = next(e for e in EXAMPLES if isinstance(e, StatsReply))
LOCALIZED = next(e for e in EXAMPLES if isinstance(e, LocalizeReply))
LOCALIZE = next(e for e in EXAMPLES if isinstance(e, LocalizeRequest) and e.text)


@pytest.mark.parametrize("example, change, code, text", [
    (STATS, lambda m: m.fields.pop("log_seq"), ErrorCode.BAD_MESSAGE, "field 'log_seq' is required"),
    (STATS, lambda m: m.fields.update(log_seq=None), ErrorCode.BAD_MESSAGE, "field 'log_seq' is required"),
    (STATS, lambda m: m.fields.update(log_seq="3"), ErrorCode.BAD_MESSAGE, "field 'log_seq' must be an int, got str"),
    (STATS, lambda m: m.fields.update(log_seq=True), ErrorCode.BAD_MESSAGE, "'log_seq' must be an int, got bool"),
    (STATS, lambda m: m.fields.update(uptime_s=float("nan")), ErrorCode.BAD_MESSAGE, "'uptime_s' must be finite"),
    (STATS, lambda m: m.fields.update(text_queries=1), ErrorCode.BAD_MESSAGE, "'text_queries' must be a bool"),
    (STATS, lambda m: m.fields.update(colour="red"), ErrorCode.BAD_MESSAGE, "unknown field 'colour'"),
    (STATS, lambda m: m.arrays.update(extra=np.zeros(1)), ErrorCode.BAD_MESSAGE, "unknown array 'extra'"),
    (STATS, lambda m: setattr(m, "type", "pong"), ErrorCode.BAD_MESSAGE, "expected a 'stats_result' message"),
    (LOCALIZED, lambda m: m.fields["candidates"][0].pop("score"), ErrorCode.BAD_MESSAGE,
     "'candidates[0].score' is required"),
    (LOCALIZED, lambda m: m.fields["candidates"][0].update(centroid=[1, 2]), ErrorCode.BAD_MESSAGE,
     "'candidates[0].centroid' must be a list of 3 values"),
    (LOCALIZED, lambda m: m.fields["candidates"][0].update(seen=1), ErrorCode.BAD_MESSAGE,
     "unknown field 'candidates[0].seen'"),
    (LOCALIZED, lambda m: m.fields.update(candidates={"a": 1}), ErrorCode.BAD_MESSAGE, "'candidates' must be a list"),
    (LOCALIZE, lambda m: m.fields.update(top_k="five"), ErrorCode.INVALID_INPUT, "'top_k' must be an int"),
    (LOCALIZE, lambda m: m.fields.update(text=b"mug"), ErrorCode.INVALID_INPUT, "'text' must be a str, got bytes"),
])
def test_a_field_that_does_not_fit_is_a_protocol_error_naming_it(example, change, code, text):
    with pytest.raises(ProtocolError, match=re.escape(text)) as raised:
        type(example).from_message(broken(example, change))
    assert raised.value.code == code and raised.value.request_id == 9


def test_an_error_reply_with_an_unknown_code_is_refused():
    message = Message("error", 1, {"code": "teapot", "message": "short and stout"})
    with pytest.raises(ProtocolError, match="'code' must be one of"):
        ErrorReply.from_message(message)


def test_the_schema_tells_header_fields_from_arrays_and_required_from_optional():
    assert [(f.name, f.is_array, f.required) for f in schema(LocalizeRequest)] == [
        ("text", False, False), ("top_k", False, False), ("threshold", False, False), ("embedding", True, False)]
    assert [f.name for f in schema(IngestAck) if f.required] == ["obs_id", "seq", "duplicate"]


class FakeService:
    """A ROUTER on a free port answering every request with the next of ``replies`` (real sockets)."""

    def __init__(self, replies: list[Message]) -> None:
        self.socket = zmq.Context.instance().socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.bind("tcp://127.0.0.1:*")
        self.endpoint = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self.thread = threading.Thread(target=self._serve, args=(list(replies),), daemon=True)
        self.thread.start()

    def _serve(self, replies: list[Message]) -> None:
        for reply in replies:
            if not self.socket.poll(10_000):
                return
            envelope, *frames = self.socket.recv_multipart()
            reply.id = decode(frames).id
            self.socket.send_multipart([envelope] + encode(reply))

    def close(self) -> None:
        self.thread.join(timeout=15)
        self.socket.close()


@pytest.mark.parametrize("reply, text", [
    (Message("pong", 0, {"server": "mem3d"}), "field 'version' is required"),
    (Message("pong", 0, {"server": "mem3d", "version": 3}), "field 'version' must be a str, got int"),
    (Message("pong", 0, {"server": "mem3d", "version": "1", "mood": "fine"}), "unknown field 'mood'"),
    (Message("stats_result", 0, {"server": "mem3d", "version": "1"}), "expected a 'pong' message"),
])
def test_the_client_refuses_a_malformed_reply_with_a_protocol_error(reply, text):
    service = FakeService([reply])
    try:
        with MemoryClient(service.endpoint, service.endpoint, timeout=5, retries=0) as client:
            with pytest.raises(ProtocolError, match=text) as raised:
                client.ping()
        assert raised.value.code == ErrorCode.BAD_MESSAGE
    finally:
        service.close()


def test_the_client_returns_typed_replies_and_raises_error_replies():
    service = FakeService([Message("pong", 0, {"server": "mem3d", "version": "9.9"}),
                           LocalizeReply(found=True, threshold=0.3, n_matching_voxels=1,
                                         candidates=(CANDIDATE,)).to_message(),
                           Message("error", 0, {"code": "not_available", "message": "no text encoder"})])
    try:
        with MemoryClient(service.endpoint, service.endpoint, timeout=5, retries=0) as client:
            assert client.ping() == Pong(server="mem3d", version="9.9")
            assert client.localize(embedding=np.ones(4)).candidates == (CANDIDATE,)
            with pytest.raises(ServiceError) as raised:
                client.localize(text="mug")
        assert raised.value.code == "not_available" and "no text encoder" in str(raised.value)
    finally:
        service.close()
