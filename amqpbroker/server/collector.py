"""The garbage collector's policy for a broker process of its own (``amqpbroker serve``):
the cyclic collector never walks the long-lived objects (queues, bindings, queued messages,
connections), so that no collection holds the event loop for long.

CPython's collector walks every tracked object on a full collection: with 10,000 queues
that is about half a million objects, 60-100 ms with the loop held, and CPython runs one
whenever the old generation has grown by a quarter.  The CPython documentation's tools for
this are ``gc.freeze()`` (move every tracked object to a permanent generation that
collections ignore) and higher thresholds.  So:

- young collections come every ``YOUNG_COLLECTION_EVERY`` allocations (CPython: 700):
  most messages have come and gone by then, and fewer collections walk queued ones;
- every ``ROUND_SECONDS`` a round collects what is not frozen (what survived since the
  last round: its cost is bounded by what the broker made meanwhile) and freezes the rest;
- an object freed by reference counting is freed, frozen or not; only cyclic garbage among
  frozen objects waits, so when the frozen objects have doubled since the last full pass
  (counting them walks them all: a round does it only when what it froze may add up to that),
  a full pass unfreezes, collects everything and freezes again: the memory held by such
  garbage stays below what the live objects hold at their peak, and the full pass (the
  stall the rounds avoid) comes only as often as the number of long-lived objects doubles.

The embedded ``Broker`` leaves the collector alone: in a test run it belongs to the program.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

log = logging.getLogger(__name__)

# Allocations between two collections of the youngest generation (CPython: 700).
YOUNG_COLLECTION_EVERY = 50_000
ROUND_SECONDS = 1.0
# No full pass while fewer objects than this are frozen (the interpreter and the broker's
# modules alone are ~100,000).
FULL_PASS_FLOOR = 200_000


class CollectorPolicy:
    """Freezes the long-lived objects round by round (``start``); ``round`` is one round."""

    def __init__(self, round_seconds: float = ROUND_SECONDS) -> None:
        self.round_seconds = round_seconds
        self.frozen_after_full_pass = 0
        # At least the frozen objects (each round adds what it froze; freed ones are not
        # taken off): counting them is a walk over all of them, done only when this says
        # they may have doubled.
        self.frozen_at_most = 0
        self.full_passes = 0
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """After start-up (recovery, definitions): freeze what it loaded, raise the young
        generation's threshold, and run a round every ``round_seconds`` on the loop."""
        _, middle, old = gc.get_threshold()
        gc.set_threshold(YOUNG_COLLECTION_EVERY, middle, old)
        gc.freeze()
        self.frozen_after_full_pass = self.frozen_at_most = gc.get_freeze_count()
        self._schedule()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _schedule(self) -> None:
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.round_seconds, self._tick)

    def _tick(self) -> None:
        self.round()
        self._schedule()

    def round(self) -> None:
        """Collect what is not frozen, freeze what survives; a full pass when the frozen
        objects have doubled since the last one."""
        gc.collect()
        self.frozen_at_most += len(gc.get_objects(generation=2))  # (what survived)
        gc.freeze()
        limit = max(FULL_PASS_FLOOR, 2 * self.frozen_after_full_pass)
        if self.frozen_at_most <= limit:
            return
        self.frozen_at_most = gc.get_freeze_count()
        if self.frozen_at_most > limit:
            self.full_pass()

    def full_pass(self) -> None:
        """Collect every object, the frozen ones too (the loop waits: the stall the
        rounds avoid), and freeze the survivors."""
        started = time.perf_counter()
        before = gc.get_freeze_count()
        gc.unfreeze()
        collected = gc.collect()
        gc.freeze()
        self.frozen_after_full_pass = self.frozen_at_most = gc.get_freeze_count()
        self.full_passes += 1
        log.debug(
            "full garbage collection: %d objects, %d collected, %.0f ms",
            before,
            collected,
            (time.perf_counter() - started) * 1000,
        )
