"""Helpers shared by the session tests (``tests/session``)."""

from __future__ import annotations

import datetime
from typing import Any

from pamqp import commands

from amqpbroker.testing.harness import ClientChannel, Delivery

# The harness's ManualClock starts its wall clock here (ports.ManualClock's wall_start).
EPOCH_START = datetime.datetime.fromtimestamp(1_700_000_000, datetime.UTC)


def props(**fields: Any) -> commands.Basic.Properties:
    return commands.Basic.Properties(**fields)


def declare(ch: ClientChannel, name: str, **arguments: Any) -> str:
    """An exclusive queue with ``arguments`` (as the socket tests declare theirs)."""
    return str(ch.declare(name, arguments=arguments or None, exclusive=True).queue)


def fanout(ch: ClientChannel, name: str, *queues: str) -> str:
    ch.exchange(name, "fanout", auto_delete=True)
    for queue in queues:
        ch.bind(queue, name)
    return name


def exchange(ch: ClientChannel, name: str, kind: str, *bound: tuple[str, str]) -> str:
    """An auto-delete exchange with ``bound`` (queue, routing key) bindings."""
    ch.exchange(name, kind, auto_delete=True)
    for queue, key in bound:
        ch.bind(queue, name, key)
    return name


def dead_lettering(ch: ClientChannel, **arguments: Any) -> tuple[str, str]:
    """(queue, dead): ``q`` dead-letters through the fanout ``dlx`` into ``dead``."""
    dead = declare(ch, "dead")
    fanout(ch, "dlx", dead)
    return declare(ch, "q", **{"x-dead-letter-exchange": "dlx", **arguments}), dead


def got(ch: ClientChannel, queue: str, no_ack: bool = True) -> Delivery:
    """basic.get that must find a message."""
    message = ch.get(queue, no_ack=no_ack)
    assert message is not None, f"{queue} is empty"
    return message


def reject_head(ch: ClientChannel, queue: str) -> bytes:
    """basic.get the head of ``queue`` and reject it without requeue."""
    message = got(ch, queue, no_ack=False)
    ch.reject(message.method.delivery_tag, requeue=False)
    return message.body


def deaths(message: Delivery) -> list[tuple[str, str, int]]:
    return [(d["queue"], d["reason"], d["count"]) for d in message.headers["x-death"]]


def tags(deliveries: list[Delivery]) -> list[int]:
    return [d.method.delivery_tag for d in deliveries]


def bodies(deliveries: list[Delivery]) -> list[bytes]:
    return [d.body for d in deliveries]
