"""A message routed to several queues is encoded once per (channel, frame size) and the
encoding shared: every consumer must still get frames for its own channel and frame_max."""

from __future__ import annotations

import pika

from amqpbroker.testing.polling import settle


def test_fanout_copies_reach_each_channel_and_frame_size_intact(broker_url, unique):
    exchange = unique("fan")
    body = bytes(range(256)) * 40  # 10 KiB: several body frames at frame_max 4096
    small = pika.URLParameters(broker_url + "?frame_max=4096")
    with (
        pika.BlockingConnection(pika.URLParameters(broker_url)) as big_conn,
        pika.BlockingConnection(small) as small_conn,
    ):
        channels = [big_conn.channel(), big_conn.channel(), small_conn.channel()]
        channels[0].exchange_declare(exchange, "fanout", auto_delete=True)
        queues = []
        for ch in channels:
            queue = ch.queue_declare("", exclusive=True).method.queue
            ch.queue_bind(queue, exchange)
            queues.append(queue)
        received: list[list[bytes]] = [[] for _ in channels]
        for ch, queue, bodies in zip(channels, queues, received, strict=True):
            ch.basic_consume(queue, lambda _c, _m, _p, b, got=bodies: got.append(b), auto_ack=True)
        channels[0].basic_publish(exchange, "", body)
        channels[0].basic_publish(exchange, "", b"second")

        def serve() -> None:
            big_conn.process_data_events(0.05)
            small_conn.process_data_events(0.05)

        settle(lambda: all(len(bodies) >= 2 for bodies in received), pause=serve)
        assert received == [[body, b"second"]] * 3
