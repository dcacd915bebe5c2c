#!/usr/bin/env python
"""Tutorial 4, Routing: send a log message with a severity to the direct exchange 'direct_logs'.

usage: emit_log_direct.py [severity] [message...]   (defaults: info, "Hello World!")
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

        direct_logs_exchange = await channel.declare_exchange(
            "direct_logs", aio_pika.ExchangeType.DIRECT
        )

        severity = sys.argv[1] if len(sys.argv) > 1 else "info"
        message_body = " ".join(sys.argv[2:]) or "Hello World!"
        await direct_logs_exchange.publish(
            aio_pika.Message(body=message_body.encode()), routing_key=severity
        )
        print(f" [x] Sent {severity}:{message_body}")


if __name__ == "__main__":
    asyncio.run(main())
