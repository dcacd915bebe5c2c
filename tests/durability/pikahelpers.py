"""pika helpers for the durability tests: connections that outlive (or not) their broker."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from typing import Any

import pika
import pika.exceptions
import pytest
from brokerproc import Node, assert_clean
from datadir import index_dir  # noqa: F401 (re-exported for the tests here)

from amqpbroker.testing.polling import wait_until

FORCED = "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"
PERSISTENT = 2
TRANSIENT = 1


def pika_connect(node: Node) -> pika.BlockingConnection:
    params = pika.URLParameters(node.url)
    params.socket_timeout = 5
    params.stack_timeout = 10
    params.blocked_connection_timeout = 10
    return pika.BlockingConnection(params)


def close_quietly(conn: pika.BlockingConnection) -> None:
    """Close a connection whose broker may be gone."""
    with contextlib.suppress(pika.exceptions.AMQPError, OSError):
        if conn.is_open:
            conn.close()


@contextlib.contextmanager
def pika_channel(node: Node, *, confirm: bool = True) -> Iterator[Any]:
    conn = pika_connect(node)
    try:
        ch = conn.channel()
        if confirm:
            ch.confirm_delivery()
        yield ch
    finally:
        close_quietly(conn)


def stop(node: Node, signum: int, *clients: pika.BlockingConnection) -> None:
    """Stop the broker while ``clients`` are connected: SIGTERM closes them with 320 and exits
    0 (pika must run its loop to answer); SIGKILL just drops them."""
    if signum == signal.SIGKILL:
        node.kill()
    else:
        assert node.proc is not None
        node.proc.send_signal(signum)
        for conn in clients:
            with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as closed:
                wait_until(lambda c=conn: c.process_data_events(time_limit=0.05), "close")
            assert (closed.value.reply_code, closed.value.reply_text) == (320, FORCED)
        assert node.wait() == 0, node.log
        assert_clean(node.log)
    for conn in clients:
        close_quietly(conn)


def channel_error(conn: pika.BlockingConnection, action: Callable[[Any], Any]) -> tuple[int, str]:
    ch = conn.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        action(ch)
    return info.value.reply_code, info.value.reply_text


def get_all(ch: Any, queue: str) -> list[tuple[Any, Any, bytes]]:
    """basic.get (acking) until get-empty."""
    got = []
    while True:
        method, properties, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            return got
        got.append((method, properties, body))


def segment_files(node: Node) -> list[str]:
    return sorted(p.name for p in (node.data_dir / "messages").glob("*.seg"))
