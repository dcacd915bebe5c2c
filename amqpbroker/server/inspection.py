"""Embedded brokers' powers: inspection."""

from __future__ import annotations

from .powers import LoopAccess


class Inspection(LoopAccess):
    """Read-only views for tests: what was published, queues, consumers, unacked messages."""
