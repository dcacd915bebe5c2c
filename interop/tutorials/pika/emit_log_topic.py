#!/usr/bin/env python
"""Tutorial 5, Topics: send a log message with a "<facility>.<severity>" routing key to the
topic exchange 'topic_logs'.

usage: emit_log_topic.py <routing_key> <message...>
As in the tutorial, the key is used only when a message follows it; otherwise the message
goes out as "anonymous.info".
"""

import os
import sys

import pika

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/%2F")

connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
channel = connection.channel()

channel.exchange_declare(exchange="topic_logs", exchange_type="topic")

routing_key = sys.argv[1] if len(sys.argv) > 2 else "anonymous.info"
message = " ".join(sys.argv[2:]) or "Hello World!"
channel.basic_publish(exchange="topic_logs", routing_key=routing_key, body=message)
print(f" [x] Sent {routing_key}:{message}")
connection.close()
