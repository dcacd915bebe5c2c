"""Applies a vhost's policies to its queues and exchanges when they change, in slices.

``RuntimeParameters`` tells ``PolicyApplier.changed`` of every change to a vhost's
policies; the work (``core.policy_changes``) runs at once for as long as one slice's
budget allows, the rest on later loop ticks, so that a change on a vhost of 10,000 queues
never holds the loop for long.  A newer change to the same vhost supersedes one still
under way (it covers every object again).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

from amqpbroker.core.broker import BrokerState
from amqpbroker.core.policy_changes import apply_policy_book
from amqpbroker.policies.parameters import RuntimeParameters

SLICE_SECONDS = 0.02  # the longest a slice may hold the loop (checked every few objects)
_CHECK_EVERY = 16


class PolicyApplier:
    def __init__(self, state: Callable[[], BrokerState], parameters: RuntimeParameters) -> None:
        self.state = state  # (the server's current state: a restart makes a new one)
        self.parameters = parameters
        self._pending: dict[str, Iterator[None]] = {}  # vhost -> the work still to do

    def changed(self, vhost_name: str) -> None:
        """Apply ``vhost_name``'s policies (now: a vhost that no longer exists is skipped)."""
        vhost = self.state().vhosts.get(vhost_name)
        if vhost is None:
            return
        steps = apply_policy_book(
            vhost,
            self.parameters.policies_in(vhost_name),
            self.parameters.policies_in(vhost_name, operator=True),
        )
        self._pending[vhost_name] = steps
        self._run_slice(vhost_name, steps)

    def apply_all(self) -> None:
        """Every vhost's policies (at start, once recovered and imported)."""
        for name in list(self.state().vhosts):
            self.changed(name)

    @property
    def busy(self) -> bool:
        """Whether some change is still being applied."""
        return bool(self._pending)

    def _run_slice(self, vhost_name: str, steps: Iterator[None]) -> None:
        if self._pending.get(vhost_name) is not steps:
            return  # superseded
        deadline = time.perf_counter() + SLICE_SECONDS
        for count, _ in enumerate(steps, 1):
            due = count % _CHECK_EVERY == 0 and time.perf_counter() >= deadline
            if due and _later(self._run_slice, vhost_name, steps):
                return
        del self._pending[vhost_name]


def _later(callback: Callable[[str, Iterator[None]], None], *args: Any) -> bool:
    """Run ``callback`` on a later loop tick; False when no loop runs here (go on now)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return False
    loop.call_soon(callback, *args)
    return True
