"""Helpers for the TLS tests: pika and aio-pika over TLS, a raw AMQP client over TLS."""

from __future__ import annotations

import ssl
from typing import Any

import aio_pika
import pika
from pamqp import commands
from rawamqp import PROTOCOL_HEADER, RawAMQP

from amqpbroker.testing.polling import wait_until


def pika_params(url: str, context: ssl.SSLContext, external: bool = False) -> pika.URLParameters:
    params = pika.URLParameters(url)
    params.ssl_options = pika.SSLOptions(context)
    params.socket_timeout = 5
    params.stack_timeout = 10
    if external:
        params.credentials = pika.credentials.ExternalCredentials()
    return params


def pika_connect(url: str, context: ssl.SSLContext, external: bool = False) -> Any:
    return pika.BlockingConnection(pika_params(url, context, external))


def pika_round_trip(conn: pika.BlockingConnection, body: bytes = b"over tls") -> None:
    """Declare, publish, get: the connection really works."""
    ch = conn.channel()
    queue = ch.queue_declare("", exclusive=True).method.queue
    ch.basic_publish("", queue, body)
    got = wait_until(lambda: ch.basic_get(queue, auto_ack=True)[2], "the message", pause=None)
    assert got == body
    ch.close()


async def aio_round_trip(url: str, context: ssl.SSLContext, body: bytes = b"aio tls") -> str:
    """Connect with aio-pika, publish and get a message; the user the broker saw."""
    connection = await aio_pika.connect(url, ssl_context=context, timeout=10)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        await channel.default_exchange.publish(aio_pika.Message(body), routing_key=queue.name)
        message = await queue.get(timeout=5, fail=True)
        assert message is not None and message.body == body
        await message.ack()
        return str(connection.transport.connection.url.user or "")


class RawTLS(RawAMQP):
    """``RawAMQP`` over TLS."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext, timeout: float = 5.0):
        super().__init__(host, port, timeout)
        self.sock = context.wrap_socket(self.sock, server_hostname=host)

    def hello(self) -> Any:
        """Send the protocol header; connection.start."""
        self.send(PROTOCOL_HEADER)
        return self.expect_method(commands.Connection.Start)[1]
