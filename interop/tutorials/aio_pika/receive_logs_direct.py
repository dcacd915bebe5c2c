#!/usr/bin/env python
"""Tutorial 4, Routing: print the logs of the severities given on the command line.

usage: receive_logs_direct.py [info] [warning] [error]
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

        direct_logs_exchange = await channel.declare_exchange(
            "direct_logs", aio_pika.ExchangeType.DIRECT
        )

        queue = await channel.declare_queue(exclusive=True)

        severities = sys.argv[1:]
        if not severities:
            sys.stderr.write(f"Usage: {sys.argv[0]} [info] [warning] [error]\n")
            sys.exit(1)

        for severity in severities:
            await queue.bind(direct_logs_exchange, routing_key=severity)

        await queue.consume(on_message, no_ack=True)

        print(" [*] Waiting for logs. To exit press CTRL+C", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print("Interrupted", flush=True)
