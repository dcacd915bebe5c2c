"""The scenario registry: ``@scenario`` records a function under a unique name.

A scenario takes a :class:`differential.runner.Run` (a sync function, or an ``async def`` for
aio-pika) and returns an observation: any JSON-able value.  ``deliberate="why"`` marks the
rare scenario where this broker differs from RabbitMQ on purpose; its ``normalise`` function,
applied to both observations, removes exactly that difference.  ``pending="why"`` marks a
scenario written ahead of the feature it checks (a known, temporary gap): its test is an
expected failure until amqpbroker matches, and then fails ("now equal: remove pending=") so
that the mark cannot outlive the gap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["SCENARIOS", "Scenario", "scenario"]


@dataclass(frozen=True)
class Scenario:
    name: str
    fn: Callable[..., Any]
    area: str
    doc: str
    deliberate: str | None = None
    normalise: Callable[[Any], Any] | None = None
    pending: str | None = None


SCENARIOS: dict[str, Scenario] = {}


def scenario(
    name: str | None = None,
    *,
    deliberate: str | None = None,
    normalise: Callable[[Any], Any] | None = None,
    pending: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as a scenario named ``<module>.<name>``."""
    if (deliberate is None) != (normalise is None):
        raise ValueError("deliberate= and normalise= go together")

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        area = fn.__module__.rsplit(".", 1)[-1]
        full = f"{area}.{name or fn.__name__}"
        if full in SCENARIOS:
            raise ValueError(f"duplicate scenario name {full}")
        doc = (fn.__doc__ or "").strip().splitlines()
        SCENARIOS[full] = Scenario(
            full, fn, area, doc[0] if doc else "", deliberate, normalise, pending
        )
        return fn

    return register
