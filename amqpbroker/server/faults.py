"""Embedded brokers' powers: fault injection."""

from __future__ import annotations

from .powers import LoopAccess


class Faults(LoopAccess):
    """Fault injection for testing client resilience."""
