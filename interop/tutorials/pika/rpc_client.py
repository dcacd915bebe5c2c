#!/usr/bin/env python
"""Tutorial 6, RPC: call fib(30) on the RPC server and print the answer.

The client consumes from its own exclusive, server-named callback queue, sends the request
to 'rpc_queue' with reply_to set to that queue and a fresh correlation_id, and waits for the
response carrying the same correlation_id.
"""

import os
import uuid

import pika

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/%2F")


class FibonacciRpcClient:
    def __init__(self):
        self.connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        self.channel = self.connection.channel()

        result = self.channel.queue_declare(queue="", exclusive=True)
        self.callback_queue = result.method.queue

        self.channel.basic_consume(
            queue=self.callback_queue, on_message_callback=self.on_response, auto_ack=True
        )

        self.response = None
        self.corr_id = None

    def on_response(self, ch, method, props, body):
        if self.corr_id == props.correlation_id:
            self.response = body

    def call(self, n):
        self.response = None
        self.corr_id = str(uuid.uuid4())
        self.channel.basic_publish(
            exchange="",
            routing_key="rpc_queue",
            properties=pika.BasicProperties(
                reply_to=self.callback_queue, correlation_id=self.corr_id
            ),
            body=str(n),
        )
        while self.response is None:
            self.connection.process_data_events(time_limit=None)
        return int(self.response)

    def close(self):
        self.connection.close()


fibonacci_rpc = FibonacciRpcClient()

print(" [x] Requesting fib(30)", flush=True)
response = fibonacci_rpc.call(30)
print(f" [.] Got {response}")
fibonacci_rpc.close()
