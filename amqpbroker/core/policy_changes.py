"""Applying a vhost's changed policies to every queue and exchange it holds, in steps.

``apply_policy_book`` installs the new ``PolicyBook`` at once (what is declared from then on
gets it) and returns the work on existing objects as an iterator: one step per object, so
that whoever drives it (``server.policy_applier``; the session harness all at once) can
share the loop between slices.  An object deleted between steps is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from amqpbroker.policies.model import Policy

from .queue_policy import PolicyBook
from .vhost import VirtualHost


def apply_policy_book(
    vhost: VirtualHost, policies: Sequence[Policy], operator_policies: Sequence[Policy]
) -> Iterator[None]:
    """Install the vhost's new policies; the iterator applies them to what exists."""
    book = vhost.policy_book = PolicyBook(policies, operator_policies)
    return _apply_to_existing(vhost, book)


def _apply_to_existing(vhost: VirtualHost, book: PolicyBook) -> Iterator[None]:
    for exchange in list(vhost.exchanges.values()):
        if vhost.policy_book is not book:
            return  # a newer change took over
        if vhost.exchanges.get(exchange.name) is exchange:
            exchange.apply_policy(book.applied(exchange.name, "exchange"))
        yield
    for queue in list(vhost.queues.values()):
        if vhost.policy_book is not book:
            return
        if vhost.queues.get(queue.name) is queue:
            queue.apply_policy(book.applied(queue.name, queue.policy_kind))
        yield


def run_all(steps: Iterator[None]) -> None:
    """Drive ``steps`` to the end at once (an in-process broker with no loop to share)."""
    for _ in steps:
        pass
