#!/usr/bin/env python
"""Tutorial 7, Publisher confirms: three ways to know that the broker has taken every message.

1. individually: publish one message and wait for its confirm before the next;
2. in batch: publish 100 messages, then wait until all 100 are confirmed;
3. asynchronously: publish everything and handle the confirms as they arrive.

Each strategy publishes MESSAGE_COUNT messages (50,000 as in the tutorial; the environment
variable TUTORIAL_MESSAGE_COUNT changes it) to its own server-named queue and reports how many
were confirmed and how long it took. The exit status is 1 if any message was not confirmed.

aio-pika opens channels with publisher confirms on: awaiting Exchange.publish() waits for the
broker's ack and raises DeliveryError on a nack.
"""

import asyncio
import os
import sys
import time

import aio_pika
import aio_pika.exceptions

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/")
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


async def publish_messages_individually():
    async with await aio_pika.connect(AMQP_URL) as connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(exclusive=True)

        confirmed = 0
        start = time.perf_counter()
        for i in range(MESSAGE_COUNT):
            try:
                await channel.default_exchange.publish(
                    aio_pika.Message(body=str(i).encode()), routing_key=queue.name
                )
            except aio_pika.exceptions.DeliveryError:
                continue
            confirmed += 1
        return report("individually", confirmed, time.perf_counter() - start)


async def publish_messages_in_batch():
    async with await aio_pika.connect(AMQP_URL) as connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(exclusive=True)

        confirmed = 0
        start = time.perf_counter()
        for first in range(0, MESSAGE_COUNT, BATCH_SIZE):
            batch = [
                channel.default_exchange.publish(
                    aio_pika.Message(body=str(i).encode()), routing_key=queue.name
                )
                for i in range(first, min(first + BATCH_SIZE, MESSAGE_COUNT))
            ]
            # Wait until the broker has confirmed the whole batch.
            results = await asyncio.gather(*batch, return_exceptions=True)
            confirmed += sum(not isinstance(result, BaseException) for result in results)
        return report("in batch", confirmed, time.perf_counter() - start)


async def handle_publish_confirms_asynchronously():
    async with await aio_pika.connect(AMQP_URL) as connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(exclusive=True)

        confirmed = 0

        def on_confirm(publishing):
            nonlocal confirmed
            if not publishing.cancelled() and publishing.exception() is None:
                confirmed += 1

        start = time.perf_counter()
        outstanding = []
        for i in range(MESSAGE_COUNT):
            publishing = asyncio.ensure_future(
                channel.default_exchange.publish(
                    aio_pika.Message(body=str(i).encode()), routing_key=queue.name
                )
            )
            publishing.add_done_callback(on_confirm)
            outstanding.append(publishing)
        if outstanding:
            await asyncio.wait(outstanding)
        return report("and handled confirms asynchronously", confirmed, time.perf_counter() - start)


async def main():
    results = [
        await publish_messages_individually(),
        await publish_messages_in_batch(),
        await handle_publish_confirms_asynchronously(),
    ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
