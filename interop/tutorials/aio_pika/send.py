#!/usr/bin/env python
"""Tutorial 1, "Hello World!": publish one message to the queue 'hello'."""

import asyncio
import os

import aio_pika

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/")


async def main():
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()

        queue = await channel.declare_queue("hello")

        await channel.default_exchange.publish(
            aio_pika.Message(body=b"Hello World!"), routing_key=queue.name
        )
        print(" [x] Sent 'Hello World!'")


if __name__ == "__main__":
    asyncio.run(main())
