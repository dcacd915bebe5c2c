"""Deliveries keep flowing when their output exceeds a loop tick's budget or the socket backs up.

The broker stops encoding deliveries for a connection once 1 MiB waits for the next write, or
while the transport is paused, and resumes after the write; a consumer without prefetch must
still receive a large backlog completely and in order.
"""

from __future__ import annotations

from collections.abc import Callable

import pika

from amqpbroker.testing.polling import settle

BODY = b"x" * 1024
COUNT = 4000  # ~4 MiB: several times the per-tick output budget


def publish_backlog(channel: pika.adapters.blocking_connection.BlockingChannel, queue: str) -> None:
    channel.confirm_delivery()
    for i in range(COUNT):
        channel.basic_publish("", queue, b"%06d" % i + BODY)


def test_backlog_larger_than_the_output_budget_is_delivered_in_order(
    broker_url: str, unique: Callable[[str], str]
) -> None:
    queue = unique("backlog")
    with pika.BlockingConnection(pika.URLParameters(broker_url)) as conn:
        ch = conn.channel()
        ch.queue_declare(queue, auto_delete=True)
        publish_backlog(ch, queue)
        consumer = conn.channel()
        received: list[int] = []
        consumer.basic_consume(
            queue, lambda _ch, _m, _p, body: received.append(int(body[:6])), auto_ack=True
        )
        settle(
            lambda: len(received) >= COUNT,
            timeout=30,
            pause=lambda: conn.process_data_events(time_limit=0.2),
        )
        assert received == list(range(COUNT))


def test_a_consumer_that_stops_reading_does_not_stall_others(
    broker_url: str, unique: Callable[[str], str]
) -> None:
    """One connection's full socket pauses only its own deliveries."""
    stalled_queue, live_queue = unique("stalled"), unique("live")
    with (
        pika.BlockingConnection(pika.URLParameters(broker_url)) as stalled,
        pika.BlockingConnection(pika.URLParameters(broker_url)) as live,
    ):
        sch = stalled.channel()
        sch.queue_declare(stalled_queue, auto_delete=True)
        publish_backlog(sch, stalled_queue)
        sch.basic_consume(stalled_queue, lambda *_: None, auto_ack=True)
        # ``stalled`` is never serviced again: the broker's writes to it back up.
        lch = live.channel()
        lch.queue_declare(live_queue, auto_delete=True)
        lch.confirm_delivery()
        for i in range(50):
            lch.basic_publish("", live_queue, b"%d" % i)
        got = [lch.basic_get(live_queue, auto_ack=True)[2] for _ in range(50)]
        assert got == [b"%d" % i for i in range(50)]
