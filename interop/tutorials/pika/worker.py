#!/usr/bin/env python
"""Tutorial 2, Work queues: take tasks from 'task_queue' one at a time and "work" on them.

A task takes one second per '.' in its body (TUTORIAL_DOT_SECONDS changes that, for tests).
The task is acknowledged only when done, and prefetch 1 keeps a busy worker from being
handed the next task.
"""

import os
import sys
import time

import pika

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/%2F")
DOT_SECONDS = float(os.environ.get("TUTORIAL_DOT_SECONDS", "1"))


def main():
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()

    channel.queue_declare(queue="task_queue", durable=True)

    def callback(ch, method, properties, body):
        print(f" [x] Received {body.decode()}", flush=True)
        time.sleep(body.count(b".") * DOT_SECONDS)
        print(" [x] Done", flush=True)
        ch.basic_ack(delivery_tag=method.delivery_tag)

    channel.basic_qos(prefetch_count=1)
    channel.basic_consume(queue="task_queue", on_message_callback=callback)

    print(" [*] Waiting for messages. To exit press CTRL+C", flush=True)
    channel.start_consuming()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("Interrupted", flush=True)
        sys.exit(0)
