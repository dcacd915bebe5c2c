"""Dead-lettering a message: the copy republished to a dead-letter exchange, and RabbitMQ's
rule for dropping the copies that would only go round in a cycle.

The vhost decides whether a queue dead-letters and routes the copies; this module builds
them.  The header rewrite (x-death and friends) is the protocol layer's, handed in as a
``HeaderRewriter``.
"""

from __future__ import annotations

from typing import Any

from .message import Message, routing_bytes
from .ports import HeaderRewriter


def dead_letter_copy(
    original: Message,
    rewrite: HeaderRewriter,
    *,
    queue: str,
    reason: str,
    exchange: str,
    fixed_key: str | None,
    now: int,
) -> Message:
    """The message that leaves ``queue`` for ``exchange`` when ``original`` died there: its
    routing key is the queue's x-dead-letter-routing-key if it has one (the CC and BCC keys
    then go), else the original's, and its header records the death."""
    cc = cc_keys(original)
    header = rewrite(
        original.header,
        queue,
        reason,
        original.exchange,
        (original.routing_key, *cc),
        now,
        fixed_key is not None,
    )
    routing_key = fixed_key if fixed_key is not None else original.routing_key
    message = Message(
        exchange,
        routing_key,
        routing_bytes(exchange, routing_key),
        header,
        original.body,
        persistent=original.persistent,
    )
    if fixed_key is None:
        # A message read back from disk lost its BCC keys; its CC header still holds the rest.
        message.sender_keys = original.sender_keys or cc
    return message


def cc_keys(message: Message) -> tuple[str, ...]:
    """The keys its CC header names now: the longstr elements (decoded as text; binary
    ones come back as bytes and are not keys)."""
    if b"\x02CC" not in message.header:
        return ()
    value = message.headers.get("CC")
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))


def is_cycle(queue: str, deaths: Any) -> bool:
    """RabbitMQ's rule: the message already died in ``queue`` and nothing on the way since
    (that death included) was a client's rejection."""
    if not isinstance(deaths, list):
        return False
    for death in deaths:
        if not isinstance(death, dict) or death.get("reason") == "rejected":
            return False
        if death.get("queue") == queue:
            return True
    return False
