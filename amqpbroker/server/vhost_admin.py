"""Embedded brokers' powers: virtual hosts."""

from __future__ import annotations

from .powers import LoopAccess


class VhostAdmin(LoopAccess):
    """Creating and deleting virtual hosts (the pytest plugin gives each test its own)."""
