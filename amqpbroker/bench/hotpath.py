"""The hot path's CPU cost per message, without sockets: ``--scenario hotpath``.

The socket scenarios measure what clients see, but on a small shared machine their rates
move by ±20 % from run to run.  This drives ``ConnectionSession`` objects directly (the
sans-IO layer every connection runs), through the session test harness
(``amqpbroker.testing.harness``) for the set-up: a publisher session is fed pre-encoded
frames the way a socket read hands them over (64 KiB at a time), consumer sessions' output
is collected as a transport would (``Client.take_bytes``), and acks are fed back.  What is
timed is the process's CPU time per message, the minimum and median of several rounds: a
figure that moves by a few percent, fit for comparing one change with the next.  (No
syscalls, no event loop: the socket scenarios are still the ones that count.)
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
from pamqp.common import FieldTable

from amqpbroker.access.permissions import Permission
from amqpbroker.protocol.fastcodec import encode_confirm
from amqpbroker.protocol.ids import DELIVER_INDEX, prefix
from amqpbroker.testing.harness import Client, SessionBroker

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


def _session(broker: SessionBroker) -> Client:
    """A client through the handshake with channel 1 open (its session is driven directly)."""
    client = broker.connect()
    client.channel()
    return client


def _call(client: Client, method: Frame) -> None:
    client.send(1, method)
    client.received(1)


# Properties as a task queue's client sends them: a content type and a few headers, one of
# them different in every message (a task id).
def _task_properties(number: int) -> commands.Basic.Properties:
    headers: FieldTable = {
        "task": "tasks.add",
        "id": f"{number:08x}",
        "retries": 0,
        "eta": None,
        "lang": "py",
    }
    return commands.Basic.Properties(
        content_type="application/json", delivery_mode=1, headers=headers
    )


def publishes(
    exchange: str,
    routing_key: str,
    size: int,
    properties: Callable[[int], commands.Basic.Properties] | None = None,
) -> bytes:
    """One socket read's worth of publishes: delivery-mode set, as most clients do, or each
    message's ``properties(its number)``."""
    method = pframe.marshal(commands.Basic.Publish(exchange=exchange, routing_key=routing_key), 1)
    body = pframe.marshal(pbody.ContentBody(b"x" * size), 1)

    def one(props: commands.Basic.Properties) -> bytes:
        return method + pframe.marshal(pheader.ContentHeader(0, size, props), 1) + body

    if properties is None:
        alike = one(commands.Basic.Properties(delivery_mode=1))
        return alike * max(1, READ_SIZE // len(alike))
    out: list[bytes] = []
    total = 0
    while True:
        message = one(properties(len(out)))
        if out and total + len(message) > READ_SIZE:
            return b"".join(out)
        out.append(message)
        total += len(message)


def _one_to_one(
    size: int,
    ack: bool,
    properties: Callable[[int], commands.Basic.Properties] | None = None,
    restricted: bool = False,
) -> Callable[[int], int]:
    """A publisher and a consumer on one queue: no-ack, or an ack for each (prefetch 100);
    ``restricted``: as a user whose permissions are not ``.*`` (each publish checked)."""
    broker = SessionBroker()
    if restricted:
        broker.access.set_permissions("guest", "/", Permission(".+", ".+", ".+"))
    publisher, consumer = _session(broker), _session(broker)
    _call(publisher, commands.Queue.Declare(queue="q"))
    if ack:
        _call(consumer, commands.Basic.Qos(prefetch_count=100))
    _call(consumer, commands.Basic.Consume(queue="q", consumer_tag="c", no_ack=not ack))
    publisher_session = publisher.session
    data = publishes("", "q", size, properties)
    acked = 0

    def run(messages: int) -> int:
        """Publish until ``messages`` were delivered; returns how many were."""
        nonlocal acked
        delivered = 0
        while delivered < messages:
            publisher_session.receive_data(data)
            output = consumer.take_bytes()
            while count := output.count(_DELIVER):
                delivered += count
                if not ack:
                    break
                consumer.session.receive_data(_acks(acked + 1, acked + count))
                acked += count
                output = consumer.take_bytes()
            publisher.take_bytes()
        return delivered

    return run


def _acks(first: int, last: int) -> bytes:
    return b"".join(encode_confirm(1, tag, multiple=False) for tag in range(first, last + 1))


def _fanout(queues: int = 10) -> Callable[[int], int]:
    """A publisher into a fanout exchange bound to ``queues`` queues, a consumer on each."""
    broker = SessionBroker()
    publisher = _session(broker)
    _call(publisher, commands.Exchange.Declare(exchange="fan", exchange_type="fanout"))
    consumers = []
    for index in range(queues):
        consumer = _session(broker)
        _call(consumer, commands.Queue.Declare(queue=f"q{index}"))
        _call(consumer, commands.Queue.Bind(queue=f"q{index}", exchange="fan"))
        _call(consumer, commands.Basic.Consume(queue=f"q{index}", no_ack=True))
        consumers.append(consumer)
    publisher_session = publisher.session
    data = publishes("fan", "", 16)

    def run(messages: int) -> int:
        """Publish until ``messages`` deliveries were made; returns how many were."""
        delivered = 0
        while delivered < messages:
            publisher_session.receive_data(data)
            for consumer in consumers:
                delivered += consumer.take_bytes().count(_DELIVER)
            publisher.take_bytes()
        return delivered

    return run


CASES: dict[str, Callable[[], Callable[[int], int]]] = {
    "a_16b_no_ack": lambda: _one_to_one(16, ack=False),
    "a_16b_no_ack_restricted_user": lambda: _one_to_one(16, ack=False, restricted=True),
    "b_1k_ack": lambda: _one_to_one(1024, ack=True),
    "d_fanout_10_per_delivery": _fanout,
    "e_16b_headers_no_ack": lambda: _one_to_one(16, ack=False, properties=_task_properties),
}
