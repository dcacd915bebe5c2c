"""One handler per AMQP method, dispatched through ``HANDLERS`` (method class -> function).

A handler gets the channel and the decoded pamqp method, does the work through the core and
replies through ``channel.send``.  It signals failure by raising an ``AMQPError``; the
connection decides whether that closes the channel or the connection.
"""

from __future__ import annotations

from collections.abc import Callable

from . import basic, channel_methods, confirm_tx, exchange, queue
from .basic import handle_content

Handler = Callable[..., None]

HANDLERS: dict[type, Handler] = {
    **channel_methods.HANDLERS,
    **exchange.HANDLERS,
    **queue.HANDLERS,
    **basic.HANDLERS,
    **confirm_tx.HANDLERS,
}

__all__ = ["HANDLERS", "handle_content"]
