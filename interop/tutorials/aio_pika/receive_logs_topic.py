#!/usr/bin/env python
"""Tutorial 5, Topics: print the logs whose routing key matches one of the binding keys given.

In a binding key, '*' stands for exactly one word and '#' for zero or more words:
    receive_logs_topic.py "#"                  everything
    receive_logs_topic.py "kern.*" "*.critical"
"""

import asyncio
import os
import sys

import aio_pika

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/")


async def on_message(message):
    print(f" [x] {message.routing_key}:{message.body}", flush=True)


async def main():
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()

        topic_logs_exchange = await channel.declare_exchange(
            "topic_logs", aio_pika.ExchangeType.TOPIC
        )

        queue = await channel.declare_queue(exclusive=True)

        binding_keys = sys.argv[1:]
        if not binding_keys:
            sys.stderr.write(f"Usage: {sys.argv[0]} [binding_key]...\n")
            sys.exit(1)

        for binding_key in binding_keys:
            await queue.bind(topic_logs_exchange, routing_key=binding_key)

        await queue.consume(on_message, no_ack=True)

        print(" [*] Waiting for logs. To exit press CTRL+C", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print("Interrupted", flush=True)
