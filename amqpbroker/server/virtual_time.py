"""Embedded brokers' powers: virtual time."""

from __future__ import annotations

from .powers import LoopAccess


class VirtualTime(LoopAccess):
    """A virtual clock the test advances instead of waiting."""
