"""x-queue-type quorum: declared durable, shared (not exclusive) and kept (not auto-delete),
and never server-named; otherwise RabbitMQ's 406, checked in its order.  Each queue type
refuses the others' arguments.  A quorum queue counts returns (x-delivery-count, on every
basic.get and on redeliveries), puts nacked messages at the back and a closed channel's at
the front, and applies x-delivery-limit.

Quorum queues apply operations asynchronously in RabbitMQ: arrivals are polled with a
deadline, and "the message did not come back" is shown by a witness published after the
nack on the same channel (a returned message goes to the back, ahead of the witness)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import aio_pika
import pika
import pika.compat
import pika.exceptions
import pytest
from clientutil import channel_error

from amqpbroker.testing.polling import wait_until, wait_until_async

QUORUM = {"x-queue-type": "quorum"}


@pytest.mark.parametrize(
    ("flags", "property_name"),
    [
        ({"durable": False}, "non-durable"),
        ({"durable": True, "exclusive": True}, "exclusive-owner"),
        ({"durable": False, "exclusive": True}, "exclusive-owner"),
        ({"durable": True, "auto_delete": True}, "auto-delete"),
        ({"durable": False, "auto_delete": True}, "auto-delete"),
        ({"durable": True, "exclusive": True, "auto_delete": True}, "auto-delete"),
    ],
)
def test_quorum_queue_properties_are_checked(
    connection: pika.BlockingConnection,
    unique: Callable[[str], str],
    flags: dict[str, Any],
    property_name: str,
) -> None:
    queue = unique("qq")
    error = channel_error(connection, lambda ch: ch.queue_declare(queue, arguments=QUORUM, **flags))
    assert error == (
        406,
        f"PRECONDITION_FAILED - invalid property '{property_name}' for queue '{queue}' "
        "in vhost '/'",
    )


def test_quorum_queue_cannot_be_server_named(connection: pika.BlockingConnection) -> None:
    error = channel_error(
        connection, lambda ch: ch.queue_declare("", durable=True, arguments=QUORUM)
    )
    assert error == (
        406,
        "PRECONDITION_FAILED - Cannot declare a server-named queue for type rabbit_quorum_queue",
    )


def test_durable_quorum_queue_is_declared_and_used(
    connection: pika.BlockingConnection, unique: Callable[[str], str]
) -> None:
    queue = unique("qq")
    ch = connection.channel()
    ch.confirm_delivery()
    try:
        assert ch.queue_declare(queue, durable=True, arguments=QUORUM).method.queue == queue
        ch.basic_publish("", queue, b"hello")
        _, _, body = ch.basic_get(queue, auto_ack=True)
        assert body == b"hello"
    finally:
        ch.queue_delete(queue)


# -- arguments each queue type refuses ----------------------------------------------------------
def refused(queue: str, key: str, module: str) -> tuple[int, str]:
    return (
        406,
        f"PRECONDITION_FAILED - invalid arg '{key}' for queue '{queue}' in vhost '/' "
        f"of queue type {module}",
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("x-delivery-limit", 5),
        ("x-max-in-memory-length", -1),  # (the value of a refused argument is not checked)
        ("x-quorum-initial-group-size", 3),
        ("x-dead-letter-strategy", "at-most-once"),
        ("x-max-age", "1D"),
    ],
)
def test_classic_queue_refuses_other_types_arguments(
    connection: pika.BlockingConnection, unique: Callable[[str], str], key: str, value: Any
) -> None:
    queue = unique("classic")
    for arguments in ({key: value}, {"x-queue-type": "classic", key: value}):
        error = channel_error(
            connection, lambda ch, a=arguments: ch.queue_declare(queue, exclusive=True, arguments=a)
        )
        assert error == refused(queue, key, "rabbit_classic_queue")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("x-max-priority", 500),  # (not max_value_exceeded: refused arguments are not checked)
        ("x-queue-mode", "lazy"),
        ("x-queue-version", 2),
        ("x-queue-master-locator", "client-local"),
        ("x-initial-cluster-size", 3),
    ],
)
def test_quorum_queue_refuses_other_types_arguments(
    connection: pika.BlockingConnection, unique: Callable[[str], str], key: str, value: Any
) -> None:
    queue = unique("qq")
    error = channel_error(
        connection,
        lambda ch: ch.queue_declare(queue, durable=True, arguments={**QUORUM, key: value}),
    )
    assert error == refused(queue, key, "rabbit_quorum_queue")


def test_the_first_refused_argument_in_the_table_is_named(
    connection: pika.BlockingConnection, unique: Callable[[str], str]
) -> None:
    queue = unique("classic")
    for first, second in (("x-delivery-limit", "x-max-age"), ("x-max-age", "x-delivery-limit")):
        arguments = {"x-message-ttl": 1000, first: 1, second: 1}
        error = channel_error(
            connection, lambda ch, a=arguments: ch.queue_declare(queue, exclusive=True, arguments=a)
        )
        assert error == refused(queue, first, "rabbit_classic_queue")


def test_refused_arguments_come_after_value_checks_and_before_quorum_properties(
    connection: pika.BlockingConnection, unique: Callable[[str], str]
) -> None:
    queue = unique("q")
    bad_length = {"x-delivery-limit": 1, "x-max-length": -1}
    assert channel_error(connection, lambda ch: ch.queue_declare(queue, arguments=bad_length)) == (
        406,
        f"PRECONDITION_FAILED - invalid arg 'x-max-length' for queue '{queue}' in vhost '/': "
        "{value_negative,-1}",
    )
    priority = {**QUORUM, "x-max-priority": 5}
    for flags in ({"durable": False}, {"durable": True, "exclusive": True}):
        error = channel_error(
            connection, lambda ch, f=flags: ch.queue_declare(queue, arguments=priority, **f)
        )
        assert error == refused(queue, "x-max-priority", "rabbit_quorum_queue")


def test_redeclare_compares_only_the_arguments_of_the_queues_type(
    connection: pika.BlockingConnection, unique: Callable[[str], str]
) -> None:
    classic, quorum = unique("classic"), unique("qq")
    ch = connection.channel()
    try:
        ch.queue_declare(classic, durable=True)
        ch.queue_declare(classic, durable=True, arguments={"x-delivery-limit": 1})
        limited = {**QUORUM, "x-delivery-limit": 5}
        ch.queue_declare(quorum, durable=True, arguments=limited)
        ch.queue_declare(quorum, durable=True, arguments={**limited, "x-max-priority": 9})
        changed = {**QUORUM, "x-delivery-limit": 6}
        error = channel_error(
            connection, lambda c: c.queue_declare(quorum, durable=True, arguments=changed)
        )
        assert error == (
            406,
            f"PRECONDITION_FAILED - inequivalent arg 'x-delivery-limit' for queue '{quorum}' "
            "in vhost '/': received '6' but current is '5'",
        )
    finally:
        ch.queue_delete(classic)
        ch.queue_delete(quorum)


@pytest.mark.parametrize("limit", [5, 0, -1, "abc", True])
def test_any_delivery_limit_is_accepted(
    connection: pika.BlockingConnection, unique: Callable[[str], str], limit: Any
) -> None:
    queue = unique("qq")
    ch = connection.channel()
    try:
        arguments = {**QUORUM, "x-delivery-limit": limit}
        assert ch.queue_declare(queue, durable=True, arguments=arguments).method.queue == queue
    finally:
        ch.queue_delete(queue)


# -- x-delivery-count ---------------------------------------------------------------------------
@pytest.fixture
def quorum_queue(broker_url: str, unique: Callable[[str], str]) -> Iterator[Callable[..., str]]:
    """``quorum_queue(**arguments)``: a new quorum queue, deleted after the test."""
    names: list[str] = []

    def declare(**arguments: Any) -> str:
        name = unique(f"qq{len(names)}")
        with pika.BlockingConnection(pika.URLParameters(broker_url)) as conn:
            conn.channel().queue_declare(name, durable=True, arguments={**QUORUM, **arguments})
        names.append(name)
        return name

    yield declare
    with pika.BlockingConnection(pika.URLParameters(broker_url)) as conn:
        ch = conn.channel()
        for name in names:
            ch.queue_delete(name)


def arrival(ch: Any, queue: str, auto_ack: bool = False) -> tuple[Any, Any, bytes]:
    """basic.get polled until a message comes (quorum queues apply returns asynchronously)."""

    def get() -> tuple[Any, Any, bytes] | None:
        method, props, body = ch.basic_get(queue, auto_ack=auto_ack)
        return None if method is None else (method, props, body)

    return wait_until(get, f"an arrival in {queue}")


def count_reaches(ch: Any, queue: str, count: int) -> None:
    wait_until(
        lambda: ch.queue_declare(queue, passive=True).method.message_count == count,
        f"{queue} to hold {count} messages",
    )


def bodies_with_counts(ch: Any, queue: str) -> list[tuple[bytes, int]]:
    """Every message in ``queue`` (taken): body and x-delivery-count."""
    out = []
    while True:
        method, props, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            return out
        out.append((body, props.headers["x-delivery-count"]))


def test_basic_get_always_carries_the_delivery_count(
    channel: Any, quorum_queue: Callable[..., str]
) -> None:
    queue = quorum_queue()
    headers = {"zz": 1, "x-delivery-count": 99, "aa": "text"}
    channel.basic_publish("", queue, b"m", pika.BasicProperties(headers=headers, app_id="a"))
    channel.basic_publish("", queue, b"bare")
    seen = []
    for _ in range(2):
        for _ in range(2):
            method, props, body = arrival(channel, queue)
            seen.append((body, method.redelivered, props.headers, props.app_id))
            count = props.headers["x-delivery-count"]
            assert type(count) is pika.compat.long  # a long long ('l') on the wire
        channel.basic_nack(0, multiple=True, requeue=True)
    assert seen == [
        (b"m", False, {"aa": "text", "x-delivery-count": 0, "zz": 1}, "a"),
        (b"bare", False, {"x-delivery-count": 0}, None),
        (b"m", True, {"aa": "text", "x-delivery-count": 1, "zz": 1}, "a"),
        (b"bare", True, {"x-delivery-count": 1}, None),
    ]
    assert [list(headers) for _, _, headers, _ in seen[::2]] == [
        ["aa", "x-delivery-count", "zz"]
    ] * 2


def test_a_consumer_sees_the_count_only_on_redeliveries(
    connection: pika.BlockingConnection, channel: Any, quorum_queue: Callable[..., str]
) -> None:
    queue = quorum_queue()
    headers = {"zz": 1, "x-delivery-count": 99}
    channel.basic_publish("", queue, b"m", pika.BasicProperties(headers=headers))
    consumer = connection.channel()
    consumer.basic_qos(prefetch_count=1)
    seen: list[tuple[bool, dict[str, Any]]] = []
    settle = [
        lambda tag: consumer.basic_reject(tag, requeue=True),
        lambda tag: consumer.basic_nack(tag, requeue=True),
        lambda tag: consumer.basic_recover(requeue=True),
        consumer.basic_ack,
    ]

    def on_message(ch: Any, method: Any, props: Any, body: bytes) -> None:
        seen.append((method.redelivered, props.headers))
        settle[len(seen) - 1](method.delivery_tag)

    consumer.basic_consume(queue, on_message)
    wait_until(
        lambda: len(seen) >= 4,
        lambda: f"4 deliveries, only {seen} arrived",
        pause=lambda: connection.process_data_events(time_limit=0.05),
    )
    assert seen == [
        (False, {"zz": 1, "x-delivery-count": 99}),  # untouched, in the publisher's order
        (True, {"x-delivery-count": 1, "zz": 1}),
        (True, {"x-delivery-count": 2, "zz": 1}),
        (True, {"x-delivery-count": 3, "zz": 1}),
    ]


def test_nacked_messages_go_to_the_back_a_closed_channels_to_the_front(
    connection: pika.BlockingConnection, channel: Any, quorum_queue: Callable[..., str]
) -> None:
    queue = quorum_queue()
    for body in (b"m1", b"m2", b"m3", b"m4"):
        channel.basic_publish("", queue, body)
    taker = connection.channel()
    first, _, _ = arrival(taker, queue)
    taker.basic_nack(first.delivery_tag, requeue=True)  # m1 to the back
    for _ in range(2):
        arrival(taker, queue)  # m2, m3 taken
    taker.close()  # m2, m3 to the front
    count_reaches(channel, queue, 4)
    assert bodies_with_counts(channel, queue) == [(b"m2", 1), (b"m3", 1), (b"m4", 0), (b"m1", 1)]


def test_beyond_the_delivery_limit_a_message_is_dead_lettered(
    channel: Any, quorum_queue: Callable[..., str], unique: Callable[[str], str]
) -> None:
    dead = channel.queue_declare(unique("dead"), exclusive=True).method.queue
    dead_letter = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead}
    queue = quorum_queue(**{"x-delivery-limit": 2, **dead_letter})
    properties = pika.BasicProperties(headers={"k": "v"}, expiration="60000")
    channel.basic_publish("", queue, b"m", properties)
    counts = []
    for _ in range(3):
        method, props, _ = arrival(channel, queue)
        counts.append(props.headers["x-delivery-count"])
        channel.basic_nack(method.delivery_tag, requeue=True)
    assert counts == [0, 1, 2]
    _, props, body = arrival(channel, dead, auto_ack=True)
    assert body == b"m"
    assert props.expiration is None
    assert list(props.headers) == [
        "k",
        "x-death",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
    ], "the stored message, without x-delivery-count"
    [death] = props.headers["x-death"]
    assert (death["reason"], death["queue"], death["count"]) == ("delivery_limit", queue, 1)
    assert (death["exchange"], death["routing-keys"]) == ("", [queue])
    assert death["original-expiration"] == "60000"
    assert props.headers["x-first-death-reason"] == "delivery_limit"
    assert channel.queue_declare(queue, passive=True).method.message_count == 0


@pytest.mark.parametrize(("limit", "deliveries"), [(0, 1), (-1, 1), (1, 2), ("1", 4)])
def test_without_a_dead_letter_exchange_the_message_is_dropped(
    channel: Any, quorum_queue: Callable[..., str], limit: Any, deliveries: int
) -> None:
    """A consumer nacks the message three times at most (then acks it); a witness published
    after each nack, on the same channel, arrives after the message if it came back."""
    queue = quorum_queue(**{"x-delivery-limit": limit})
    channel.basic_publish("", queue, b"m")
    seen: list[Any] = []
    witnesses = nacks = 0

    def on_message(ch: Any, method: Any, props: Any, body: bytes) -> None:
        nonlocal witnesses, nacks
        if body == b"witness":
            seen.append("witness")
            witnesses -= 1
            ch.basic_ack(method.delivery_tag)
            return
        seen.append((props.headers or {}).get("x-delivery-count"))
        if nacks == 3:
            ch.basic_ack(method.delivery_tag)
            return
        ch.basic_nack(method.delivery_tag, requeue=True)
        nacks += 1
        witnesses += 1
        ch.basic_publish("", queue, b"witness")

    channel.basic_consume(queue, on_message)
    wait_until(
        lambda: seen and not witnesses and seen[-1] == "witness",
        lambda: f"the last witness, only {seen} arrived",
        pause=lambda: channel.connection.process_data_events(time_limit=0.05),
    )
    assert [s for s in seen if s != "witness"] == [None, *range(1, deliveries)]


async def test_a_closed_channel_counts_the_return_and_applies_the_limit_aio_pika(
    broker_url: str, quorum_queue: Callable[..., str], unique: Callable[[str], str]
) -> None:
    async with await aio_pika.connect(broker_url) as connection:
        channel = await connection.channel()
        dead = await channel.declare_queue(unique("dead"), exclusive=True)
        counted = quorum_queue()
        limited = quorum_queue(
            **{
                "x-delivery-limit": 0,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": dead.name,
            }
        )
        for name in (counted, limited):
            await channel.default_exchange.publish(aio_pika.Message(name.encode()), name)
        taker = await connection.channel()
        for name in (counted, limited):
            queue = await taker.get_queue(name, ensure=False)
            got = await _aio_arrival(queue, no_ack=False)
            assert got.headers == {"x-delivery-count": 0}
        await taker.close()
        again = await _aio_arrival(await channel.get_queue(counted, ensure=False))
        assert (again.body, again.redelivered, again.headers) == (
            counted.encode(),
            True,
            {"x-delivery-count": 1},
        )
        spent = await _aio_arrival(dead)
        assert spent.body == limited.encode()
        assert [d["reason"] for d in spent.headers["x-death"]] == ["delivery_limit"]


async def _aio_arrival(
    queue: aio_pika.abc.AbstractQueue, no_ack: bool = True
) -> aio_pika.abc.AbstractIncomingMessage:
    return await wait_until_async(
        lambda: queue.get(no_ack=no_ack, fail=False), f"an arrival in {queue.name}"
    )
