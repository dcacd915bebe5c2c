#!/usr/bin/env python
"""Tutorial 5, Topics: send a log message with a "<facility>.<severity>" routing key to the
topic exchange 'topic_logs'.

usage: emit_log_topic.py <routing_key> <message...>
As in the tutorial, the key is used only when a message follows it; otherwise the message
goes out as "anonymous.info".
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

        topic_logs_exchange = await channel.declare_exchange(
            "topic_logs", aio_pika.ExchangeType.TOPIC
        )

        routing_key = sys.argv[1] if len(sys.argv) > 2 else "anonymous.info"
        message_body = " ".join(sys.argv[2:]) or "Hello World!"
        await topic_logs_exchange.publish(
            aio_pika.Message(body=message_body.encode()), routing_key=routing_key
        )
        print(f" [x] Sent {routing_key}:{message_body}")


if __name__ == "__main__":
    asyncio.run(main())
