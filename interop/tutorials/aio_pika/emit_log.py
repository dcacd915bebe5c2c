#!/usr/bin/env python
"""Tutorial 3, Publish/Subscribe: broadcast one log message on the fanout exchange 'logs'."""

import asyncio
import os
import sys

import aio_pika

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/")


async def main():
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()

        logs_exchange = await channel.declare_exchange("logs", aio_pika.ExchangeType.FANOUT)

        message_body = " ".join(sys.argv[1:]) or "info: Hello World!"
        await logs_exchange.publish(aio_pika.Message(body=message_body.encode()), routing_key="")
        print(f" [x] Sent {message_body}")


if __name__ == "__main__":
    asyncio.run(main())
