"""The hot path's CPU cost per message, without sockets: ``--scenario hotpath``.

The socket scenarios measure what clients see, but on a small shared machine their rates
move by ±20 % from run to run.  This drives ``ConnectionSession`` objects directly (the
sans-IO layer every connection runs): a publisher session is fed pre-encoded frames the
way a socket read hands them over (64 KiB at a time), consumer sessions' output is
collected as a transport would, and acks are fed back.  What is timed is the process's CPU
time per message, the minimum and median of several rounds: a figure that moves by a few
percent, fit for comparing one change with the next.  (No syscalls, no event loop: the
socket scenarios are still the ones that count.)
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from pamqp import body as pbody
from pamqp import commands
from pamqp import frame as pframe
from pamqp import header as pheader
from pamqp.base import Frame

from amqpbroker.auth import UserStore
from amqpbroker.config import BrokerConfig
from amqpbroker.core.broker import BrokerState
from amqpbroker.protocol.fastcodec import encode_confirm
from amqpbroker.protocol.ids import DELIVER_INDEX, prefix
from amqpbroker.session.connection import ConnectionSession

READ_SIZE = 65536  # what one socket read hands the session
ROUNDS = 7
_DELIVER = prefix(DELIVER_INDEX)  # basic.deliver's method index, as it appears in the output


def hotpath(messages: int = 50_000) -> dict[str, Any]:
    """CPU µs per message for each case (a fresh broker state per case)."""
    figures: dict[str, Any] = {"scenario": "hotpath", "messages_per_round": messages}
    for name, case in CASES.items():
        per_message = _rounds(case(), messages)
        figures[f"{name}_us_min"] = round(min(per_message), 2)
        figures[f"{name}_us_median"] = round(statistics.median(per_message), 2)
    return figures


def _rounds(run: Callable[[int], int], messages: int) -> list[float]:
    run(messages // 10)  # warm-up: caches, the consumer's first deliveries
    results = []
    for _ in range(ROUNDS):
        start = time.process_time()
        done = run(messages)
        results.append((time.process_time() - start) / done * 1e6)
    return results


class SansIOBroker:
    """A broker state and sessions opened on it through the real handshake."""

    def __init__(self) -> None:
        self.state = BrokerState(BrokerConfig())
        self.users = UserStore()
        self.users.add("guest", "guest")

    def session(self, write_now: Callable[[], None] = lambda: None) -> ConnectionSession:
        """A session with channel 1 open (``write_now``: as a transport passes it)."""
        session = ConnectionSession(self.state, self.users, peer="127.0.0.1:1", write_now=write_now)
        session.receive_data(b"AMQP\x00\x00\x09\x01")
        start_ok = commands.Connection.StartOk(
            client_properties={}, mechanism="PLAIN", response="\0guest\0guest"
        )
        for method in (
            start_ok,
            commands.Connection.TuneOk(channel_max=2047, frame_max=131072, heartbeat=0),
            commands.Connection.Open(virtual_host="/"),
        ):
            session.receive_data(pframe.marshal(method, 0))
        session.receive_data(pframe.marshal(commands.Channel.Open(), 1))
        session.data_to_send()
        return session

    @staticmethod
    def call(session: ConnectionSession, method: Frame) -> None:
        session.receive_data(pframe.marshal(method, 1))
        session.data_to_send()


def publishes(exchange: str, routing_key: str, size: int) -> bytes:
    """One socket read's worth of publishes (delivery-mode set, as most clients do)."""
    one = b"".join(
        (
            pframe.marshal(commands.Basic.Publish(exchange=exchange, routing_key=routing_key), 1),
            pframe.marshal(
                pheader.ContentHeader(0, size, commands.Basic.Properties(delivery_mode=1)), 1
            ),
            pframe.marshal(pbody.ContentBody(b"x" * size), 1),
        )
    )
    return one * max(1, READ_SIZE // len(one))


def _one_to_one(size: int, ack: bool) -> Callable[[int], int]:
    """A publisher and a consumer on one queue: no-ack, or an ack for each (prefetch 100)."""
    broker = SansIOBroker()
    publisher, consumer = broker.session(), broker.session()
    broker.call(publisher, commands.Queue.Declare(queue="q"))
    if ack:
        broker.call(consumer, commands.Basic.Qos(prefetch_count=100))
    broker.call(consumer, commands.Basic.Consume(queue="q", consumer_tag="c", no_ack=not ack))
    data = publishes("", "q", size)
    acked = 0

    def run(messages: int) -> int:
        """Publish until ``messages`` were delivered; returns how many were."""
        nonlocal acked
        delivered = 0
        while delivered < messages:
            publisher.receive_data(data)
            output = consumer.data_to_send()
            while count := output.count(_DELIVER):
                delivered += count
                if not ack:
                    break
                consumer.receive_data(_acks(acked + 1, acked + count))
                acked += count
                output = consumer.data_to_send()
            publisher.data_to_send()
        return delivered

    return run


def _acks(first: int, last: int) -> bytes:
    return b"".join(encode_confirm(1, tag, multiple=False) for tag in range(first, last + 1))


def _fanout(queues: int = 10) -> Callable[[int], int]:
    """A publisher into a fanout exchange bound to ``queues`` queues, a consumer on each."""
    broker = SansIOBroker()
    publisher = broker.session()
    broker.call(publisher, commands.Exchange.Declare(exchange="fan", exchange_type="fanout"))
    consumers = []
    for index in range(queues):
        consumer = broker.session()
        broker.call(consumer, commands.Queue.Declare(queue=f"q{index}"))
        broker.call(consumer, commands.Queue.Bind(queue=f"q{index}", exchange="fan"))
        broker.call(consumer, commands.Basic.Consume(queue=f"q{index}", no_ack=True))
        consumers.append(consumer)
    data = publishes("fan", "", 16)

    def run(messages: int) -> int:
        """Publish until ``messages`` deliveries were made; returns how many were."""
        delivered = 0
        while delivered < messages:
            publisher.receive_data(data)
            for consumer in consumers:
                delivered += consumer.data_to_send().count(_DELIVER)
            publisher.data_to_send()
        return delivered

    return run


CASES: dict[str, Callable[[], Callable[[int], int]]] = {
    "a_16b_no_ack": lambda: _one_to_one(16, ack=False),
    "b_1k_ack": lambda: _one_to_one(1024, ack=True),
    "d_fanout_10_per_delivery": _fanout,
}
