#!/usr/bin/env python
"""Tutorial 6, RPC: answer fib(n) requests arriving on 'rpc_queue'.

The reply goes to the queue named in the request's reply_to property and carries the
request's correlation_id, so the client can match it to its call.
"""

import asyncio
import os

import aio_pika

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/")


def fib(n):
    if n == 0:
        return 0
    if n == 1:
        return 1
    return fib(n - 1) + fib(n - 2)


async def main():
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=1)
        exchange = channel.default_exchange

        queue = await channel.declare_queue("rpc_queue")

        async def on_request(message):
            # requeue=False: a request that cannot be answered is dropped, not retried forever.
            async with message.process(requeue=False):
                n = int(message.body.decode())

                print(f" [.] fib({n})", flush=True)
                response = str(fib(n)).encode()

                await exchange.publish(
                    aio_pika.Message(body=response, correlation_id=message.correlation_id),
                    routing_key=message.reply_to,
                )

        await queue.consume(on_request)

        print(" [x] Awaiting RPC requests", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print("Interrupted", flush=True)
