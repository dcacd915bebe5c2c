"""Shared memory between the parent and its worker processes: one row of int64 per worker.

The parent writes a worker's START / STOP times (monotonic ns) and FINISH; the worker writes
its STATE and, every tick, its counters (SENT, SETTLED, RECEIVED) and CPU time, which the
parent reads for the progress line and to know when the consumers have drained.  One writer
per cell, aligned 64-bit words: no locks.
"""

from __future__ import annotations

from multiprocessing.context import BaseContext
from typing import Any

START, STOP, FINISH, STATE, SENT, SETTLED, RECEIVED, CPU = range(8)
_FIELDS = 8

# STATE values
CONNECTING, READY, RUNNING, DONE, FAILED = 0, 1, 2, 3, -1


class Board:
    """``slots`` rows of ``_FIELDS`` counters in a shared ``RawArray``."""

    def __init__(self, context: BaseContext, slots: int) -> None:
        self.slots = slots
        self._cells: Any = context.RawArray("q", slots * _FIELDS)

    def get(self, slot: int, cell: int) -> int:
        return int(self._cells[slot * _FIELDS + cell])

    def put(self, slot: int, cell: int, value: int) -> None:
        self._cells[slot * _FIELDS + cell] = value
