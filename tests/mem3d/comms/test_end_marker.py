"""A latest-only stream drops frames for a slow reader, but its end marker always reaches the reader."""

import threading
import time

import zmq

from mem3d.comms.sockets import STREAM_PUBLISHER, STREAM_SUBSCRIBER, bind, bound_endpoint, connect, send_end_marker
from mem3d.protocol.topics import END_TOPIC, OBSERVATION_TOPIC


def _stream_pair(context):
    publisher = bind(context, zmq.PUB, "tcp://127.0.0.1:*", STREAM_PUBLISHER)
    subscriber = connect(context, zmq.SUB, bound_endpoint(publisher), STREAM_SUBSCRIBER)
    subscriber.setsockopt(zmq.SUBSCRIBE, b"")
    deadline = time.monotonic() + 10
    while not subscriber.poll(50):  # until the subscription has reached the publisher
        assert time.monotonic() < deadline
        publisher.send_multipart([OBSERVATION_TOPIC, b"hello"])
    while subscriber.poll(200):
        subscriber.recv_multipart()
    return publisher, subscriber


def test_the_end_marker_waits_for_room_where_frames_are_dropped():
    context = zmq.Context()
    publisher, subscriber = _stream_pair(context)
    try:
        frame = b"x" * 200_000
        for _ in range(200):  # far past both high-water marks while nobody reads
            publisher.send_multipart([OBSERVATION_TOPIC, frame])
        sent = []
        sender = threading.Thread(target=lambda: sent.append(send_end_marker(publisher, timeout_s=10.0)))
        sender.start()
        time.sleep(0.5)  # the reader is slow
        topics = []
        while subscriber.poll(3000):
            topics.append(subscriber.recv_multipart()[0])
            if topics[-1] == END_TOPIC:
                break
        sender.join(timeout=15)
        assert sent == [True]
        assert topics[-1] == END_TOPIC and topics.count(OBSERVATION_TOPIC) < 200  # frames dropped, not the end
    finally:
        publisher.close(linger=0)
        subscriber.close(linger=0)
        context.term()
