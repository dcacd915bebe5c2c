#!/usr/bin/env python
"""Tutorial 3, Publish/Subscribe: print every log broadcast on 'logs'.

Each receiver gets a fresh, exclusive, server-named queue bound to the fanout exchange, so
every running receiver sees every message, and the queue goes away with the receiver.
"""

import asyncio
import os

import aio_pika

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/")


async def on_message(message):
    print(f" [x] {message.body}", flush=True)


async def main():
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()

        logs_exchange = await channel.declare_exchange("logs", aio_pika.ExchangeType.FANOUT)

        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(logs_exchange)

        await queue.consume(on_message, no_ack=True)

        print(" [*] Waiting for logs. To exit press CTRL+C", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print("Interrupted", flush=True)
