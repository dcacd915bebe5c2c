#!/usr/bin/env python
"""Tutorial 2, Work queues: take tasks from 'task_queue' one at a time and "work" on them.

A task takes one second per '.' in its body (TUTORIAL_DOT_SECONDS changes that, for tests).
The task is acknowledged only when done, and prefetch 1 keeps a busy worker from being
handed the next task.
"""

import asyncio
import os

import aio_pika

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/")
DOT_SECONDS = float(os.environ.get("TUTORIAL_DOT_SECONDS", "1"))


async def on_message(message):
    # process() acknowledges the message when the block ends without an exception.
    async with message.process():
        print(f" [x] Received {message.body.decode()}", flush=True)
        await asyncio.sleep(message.body.count(b".") * DOT_SECONDS)
        print(" [x] Done", flush=True)


async def main():
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=1)

        queue = await channel.declare_queue("task_queue", durable=True)

        await queue.consume(on_message)

        print(" [*] Waiting for messages. To exit press CTRL+C", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print("Interrupted", flush=True)
