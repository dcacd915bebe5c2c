"""The base of the embedded brokers' test-only powers: the server, and its event loop.

Each family of powers (inspection, time, faults, vhosts) is a mixin of ``LoopAccess``; the
embedded ``Broker`` runs their code directly (the caller is on the broker's loop) and
``BrokerThread`` hands it to the loop's thread and waits for the result.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from amqpbroker.server.app import BrokerServer

T = TypeVar("T")


class LoopAccess:
    """What every mixin may use: ``server`` and the two ways onto the broker's loop."""

    server: BrokerServer

    def _on_loop(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the broker's event loop and return its result."""
        raise NotImplementedError

    def _await_on_loop(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the broker's loop and return its result (BrokerThread only:
        an async ``Broker`` awaits its coroutines itself)."""
        raise NotImplementedError
