"""Publisher flow control end to end: a publisher flat out into a queue whose consumer cannot
keep up stops being read once the queue is far behind (core.queue FLOW_HIGH), and every
message gets through, in order, once the consumer catches up."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from pamqp import commands
from rawamqp import RawAMQP

from amqpbroker.core.queue import FLOW_HIGH, FLOW_LOW
from amqpbroker.testing.polling import wait_until

pytestmark = pytest.mark.usefixtures("broker")
COUNT = FLOW_HIGH * 10  # 20 MB: more than the sockets' buffers can absorb
BODY = b"x" * 1024


def _publisher_paused_and_depth(broker: Any, queue: str) -> tuple[bool, int]:
    """Whether some connection's input is held, and the queue's depth, in one loop step."""

    def observe() -> tuple[bool, int]:
        paused = any(p.session.input_paused for p in broker.server.connections if p.session)
        return paused, broker.server.state.vhosts["/"].queues[queue].message_count

    result: tuple[bool, int] = broker._on_loop(observe)
    return result


def test_a_publisher_waits_for_a_slow_consumer_and_loses_nothing(
    broker: Any, unique: Callable[[str], str]
) -> None:
    if not hasattr(broker, "server"):
        pytest.skip("needs the in-process broker")
    queue = unique("flow")
    consumer = RawAMQP.connect(broker.host, broker.port)
    consumer.open_channel(1)
    consumer.send_method(1, commands.Queue.Declare(queue=queue, auto_delete=True))
    consumer.expect_method(commands.Queue.DeclareOk)
    consumer.send_method(1, commands.Basic.Consume(queue=queue, no_ack=True))
    consumer.expect_method(commands.Basic.ConsumeOk)
    # The consumer now reads nothing: its socket fills and the queue falls behind.
    publisher = RawAMQP.connect(broker.host, broker.port)
    publisher.open_channel(1)
    frames = b"".join(
        publisher.publish_bytes(1, "", queue, i.to_bytes(4, "big") + BODY) for i in range(COUNT)
    )
    publisher.sock.settimeout(None)  # sendall waits while the broker holds the publisher
    sender = threading.Thread(target=publisher.send, args=(frames,), daemon=True)
    sender.start()
    held: list[int] = []

    def publisher_held_with_queue_behind() -> bool:
        paused, depth = _publisher_paused_and_depth(broker, queue)
        held.append(depth)
        return paused and depth >= FLOW_LOW  # held from FLOW_HIGH until under FLOW_LOW

    wait_until(publisher_held_with_queue_behind, "the broker to stop reading the publisher")
    assert held[-1] < COUNT // 2  # held back, not everything queued
    received = []
    while len(received) < COUNT:
        _, frame = consumer.recv_frame(10)
        if hasattr(frame, "value"):  # a body frame
            received.append(int.from_bytes(frame.value[:4], "big"))
    assert received == list(range(COUNT))
    sender.join(10)
    assert not sender.is_alive()
    consumer.close()
    publisher.close()
