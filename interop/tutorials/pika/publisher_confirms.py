#!/usr/bin/env python
"""Tutorial 7, Publisher confirms: three ways to know that the broker has taken every message.

1. individually: publish one message and wait for its confirm before the next;
2. in batch: publish 100 messages, then wait until all 100 are confirmed;
3. asynchronously: publish everything and track the confirms as they arrive.

Each strategy publishes MESSAGE_COUNT messages (50,000 as in the tutorial; the environment
variable TUTORIAL_MESSAGE_COUNT changes it) to its own server-named queue and reports how many
were confirmed and how long it took. The exit status is 1 if any message was not confirmed.

pika's BlockingConnection waits for the confirm inside every basic_publish, which is exactly
strategy 1. Publishing ahead of the confirms (strategies 2 and 3) needs pika's callback-based
SelectConnection, with an ack/nack callback.
"""

import itertools
import os
import sys
import time

import pika
import pika.exceptions

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/%2F")
MESSAGE_COUNT = int(os.environ.get("TUTORIAL_MESSAGE_COUNT", "50000"))
BATCH_SIZE = 100


def report(how, confirmed, elapsed):
    elapsed_ms = round(elapsed * 1000)
    print(
        f"Published {MESSAGE_COUNT:,} messages {how} in {elapsed_ms:,} ms "
        f"({confirmed:,} confirmed)",
        flush=True,
    )
    return confirmed == MESSAGE_COUNT


def publish_messages_individually():
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    queue = channel.queue_declare(queue="", exclusive=True).method.queue
    channel.confirm_delivery()

    confirmed = 0
    start = time.perf_counter()
    for i in range(MESSAGE_COUNT):
        try:
            # In confirm mode this returns once the broker has acked the message.
            channel.basic_publish(exchange="", routing_key=queue, body=str(i))
        except pika.exceptions.NackError:
            continue
        confirmed += 1
    ok = report("individually", confirmed, time.perf_counter() - start)
    connection.close()
    return ok


class ConfirmingPublisher:
    """Publishes MESSAGE_COUNT messages on a SelectConnection, at most `window` unconfirmed
    at a time (None: no limit), counting the acks and nacks."""

    def __init__(self, window):
        self.window = window or MESSAGE_COUNT
        self.channel = None
        self.queue = None
        self.published = 0
        # Delivery tag -> body, in publishing order: a confirm with multiple=True settles
        # every tag up to its own, which are the first entries.
        self.outstanding = {}
        self.confirmed = 0
        self.error = None
        self.start = 0.0
        self.elapsed = 0.0
        self.connection = pika.SelectConnection(
            pika.URLParameters(AMQP_URL),
            on_open_callback=self.on_connection_open,
            on_open_error_callback=self.on_connection_error,
            on_close_callback=self.on_connection_closed,
        )

    def run(self):
        self.connection.ioloop.start()
        if self.error is not None:
            raise SystemExit(f"publisher_confirms: {self.error}")
        return self.confirmed

    def on_connection_open(self, connection):
        connection.channel(on_open_callback=self.on_channel_open)

    def on_connection_error(self, connection, error):
        self.error = error
        connection.ioloop.stop()

    def on_connection_closed(self, connection, reason):
        if not isinstance(reason, pika.exceptions.ConnectionClosedByClient):
            self.error = reason
        connection.ioloop.stop()

    def on_channel_open(self, channel):
        self.channel = channel
        channel.queue_declare(queue="", exclusive=True, callback=self.on_queue_declared)

    def on_queue_declared(self, frame):
        self.queue = frame.method.queue
        self.channel.confirm_delivery(
            ack_nack_callback=self.on_confirm, callback=self.on_confirm_mode
        )

    def on_confirm_mode(self, frame):
        self.start = time.perf_counter()
        if MESSAGE_COUNT == 0:
            self.connection.close()
        else:
            self.publish_some()

    def publish_some(self):
        count = min(self.window, MESSAGE_COUNT - self.published)
        for _ in range(count):
            body = str(self.published)
            self.channel.basic_publish(exchange="", routing_key=self.queue, body=body)
            self.published += 1  # confirm-mode delivery tags count publishes from 1
            self.outstanding[self.published] = body

    def on_confirm(self, frame):
        method = frame.method
        if method.multiple:
            settled = list(
                itertools.takewhile(lambda t: t <= method.delivery_tag, self.outstanding)
            )
        else:
            settled = [method.delivery_tag]
        for tag in settled:
            del self.outstanding[tag]
        if isinstance(method, pika.spec.Basic.Ack):
            self.confirmed += len(settled)
        if self.outstanding:
            return
        if self.published < MESSAGE_COUNT:
            self.publish_some()
        else:
            self.elapsed = time.perf_counter() - self.start
            self.connection.close()


def publish_messages_in_batch():
    publisher = ConfirmingPublisher(window=BATCH_SIZE)
    confirmed = publisher.run()
    return report("in batch", confirmed, publisher.elapsed)


def handle_publish_confirms_asynchronously():
    publisher = ConfirmingPublisher(window=None)
    confirmed = publisher.run()
    return report("and handled confirms asynchronously", confirmed, publisher.elapsed)


if __name__ == "__main__":
    results = [
        publish_messages_individually(),
        publish_messages_in_batch(),
        handle_publish_confirms_asynchronously(),
    ]
    sys.exit(0 if all(results) else 1)
