#!/usr/bin/env python
"""Tutorial 2, Work queues: send one task (the command-line words) to the durable 'task_queue'.

Each '.' in the message stands for one second of work for the worker.
"""

import asyncio
import os
import sys

import aio_pika

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/")


async def main():
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()

        await channel.declare_queue("task_queue", durable=True)

        message_body = " ".join(sys.argv[1:]) or "Hello World!"
        message = aio_pika.Message(
            body=message_body.encode(), delivery_mode=aio_pika.DeliveryMode.PERSISTENT
        )
        await channel.default_exchange.publish(message, routing_key="task_queue")
        print(f" [x] Sent {message_body}")


if __name__ == "__main__":
    asyncio.run(main())
