#!/usr/bin/env python
"""Tutorial 1, "Hello World!": print every message that arrives on the queue 'hello'."""

import asyncio
import os

import aio_pika

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/")


async def on_message(message):
    print(f" [x] Received {message.body}", flush=True)


async def main():
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()

        queue = await channel.declare_queue("hello")

        await queue.consume(on_message, no_ack=True)

        print(" [*] Waiting for messages. To exit press CTRL+C", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print("Interrupted", flush=True)
