#!/usr/bin/env python
"""Tutorial 6, RPC: call fib(30) on the RPC server and print the answer.

The client consumes from its own exclusive, server-named callback queue, sends the request
to 'rpc_queue' with reply_to set to that queue and a fresh correlation_id, and waits for the
response carrying the same correlation_id.
"""

import asyncio
import os
import uuid

import aio_pika

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/")


class FibonacciRpcClient:
    def __init__(self):
        self.connection = None
        self.channel = None
        self.callback_queue = None
        self.futures = {}

    async def connect(self):
        self.connection = await aio_pika.connect(AMQP_URL)
        self.channel = await self.connection.channel()
        self.callback_queue = await self.channel.declare_queue(exclusive=True)
        await self.callback_queue.consume(self.on_response, no_ack=True)
        return self

    async def on_response(self, message):
        future = self.futures.pop(message.correlation_id, None)
        if future is not None:
            future.set_result(message.body)

    async def call(self, n):
        correlation_id = str(uuid.uuid4())
        future = asyncio.get_running_loop().create_future()
        self.futures[correlation_id] = future

        await self.channel.default_exchange.publish(
            aio_pika.Message(
                body=str(n).encode(),
                content_type="text/plain",
                correlation_id=correlation_id,
                reply_to=self.callback_queue.name,
            ),
            routing_key="rpc_queue",
        )
        return int(await future)

    async def close(self):
        await self.connection.close()


async def main():
    fibonacci_rpc = await FibonacciRpcClient().connect()
    print(" [x] Requesting fib(30)", flush=True)
    response = await fibonacci_rpc.call(30)
    print(f" [.] Got {response}")
    await fibonacci_rpc.close()


if __name__ == "__main__":
    asyncio.run(main())
