"""The order in which a channel gives unacked messages back to their queues.

Classic queues put a returned message back in its original place, so the order does not
matter to them; quorum queues queue returned messages in the order they come back.
RabbitMQ's quorum queue files each unacked message under whoever took it: a consumer (by
its tag) or a basic.get (each one on its own).  What it then does, observed in 3.10:

- nack, reject, basic.recover: basic.get deliveries first, then each consumer's, consumers
  sorted by tag as bytes;
- the channel closes: takers sorted by their name as bytes, a basic.get's name being its
  delivery tag in decimal ("1" < "10" < "2" < "ctag");

and each taker's messages in delivery order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .unacked import Unacked


def settled_order(entries: list[Unacked]) -> list[Unacked]:
    """``entries`` (in delivery order) as a nack, reject or recover returns them."""
    if len(entries) < 2:
        return entries
    return sorted(entries, key=_settled_key)


def closing_order(unacked: dict[int, Unacked]) -> list[Unacked]:
    """A closing channel's unacked messages (by delivery tag) as it returns them."""
    return [entry for _, entry in sorted(unacked.items(), key=_closing_key)]


def _settled_key(entry: Unacked) -> tuple[bool, bytes]:
    consumer = entry.consumer
    return (consumer is not None, consumer.tag_bytes[1:] if consumer is not None else b"")


def _closing_key(item: tuple[int, Unacked]) -> tuple[bytes, int]:
    tag, entry = item
    consumer = entry.consumer
    return (consumer.tag_bytes[1:] if consumer is not None else str(tag).encode()), tag
