"""The garbage collector's policy for a broker process of its own (``amqpbroker serve``):
no collection walks the long-lived objects (queues, bindings, queued messages,
connections), so that none holds the event loop for long, however many there are.

CPython's collector walks every tracked object on a full collection: with 10,000 queues
that is about half a million objects, 60-100 ms with the loop held, and CPython runs one
whenever the old generation has grown by a quarter.  The CPython documentation's tools for
this are ``gc.freeze()`` (move every tracked object to a permanent generation that
collections ignore) and the thresholds.  So:

- young collections come every ``YOUNG_COLLECTION_EVERY`` allocations (CPython: 700):
  most messages have come and gone by then, and fewer collections walk queued ones;
- the middle generation is collected every ``MIDDLE_COLLECTION_EVERY`` young collections
  (CPython: 10), so it never holds more than a few young collections' survivors;
- what survives a collection of the middle generation is long-lived: it is frozen at once
  (a callback of the collector), so the old generation stays nearly empty and a full
  collection walks almost nothing;
- an object freed by reference counting is freed, frozen or not; only cyclic garbage among
  frozen objects waits, so when the frozen objects have doubled since the last full pass, a
  full pass unfreezes, collects everything and freezes again: the memory held by such
  garbage stays below what the live objects hold at their peak, and the full pass (the
  stall the rest avoids) comes only as often as the number of long-lived objects doubles.
  (Counting the frozen objects walks them all: done only when what was frozen since the
  last count may add up to that.)

The embedded ``Broker`` leaves the collector alone: in a test run it belongs to the program.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Any

log = logging.getLogger(__name__)

# Allocations between two collections of the youngest generation (CPython: 700).
YOUNG_COLLECTION_EVERY = 50_000
# Young collections between two collections of the middle generation (CPython: 10).
MIDDLE_COLLECTION_EVERY = 2
# No full pass while fewer objects than this are frozen (the interpreter and the broker's
# modules alone are ~100,000).
FULL_PASS_FLOOR = 200_000


class CollectorPolicy:
    """``start`` on the broker's loop once it has started; ``stop`` before it closes."""

    def __init__(self) -> None:
        self.frozen_after_full_pass = 0
        # At least the frozen objects: what each freeze moved is added, what was freed
        # since is not taken off.
        self.frozen_at_most = 0
        self.full_passes = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._full_pass_due = False
        self._in_full_pass = False

    def start(self) -> None:
        """Freeze what start-up loaded (recovery, definitions), set the thresholds, and
        freeze the survivors of every later collection of the middle generation."""
        self._loop = asyncio.get_running_loop()
        gc.set_threshold(YOUNG_COLLECTION_EVERY, MIDDLE_COLLECTION_EVERY, gc.get_threshold()[2])
        gc.freeze()
        self.frozen_after_full_pass = self.frozen_at_most = gc.get_freeze_count()
        gc.callbacks.append(self._after_collection)

    def stop(self) -> None:
        if self._after_collection in gc.callbacks:
            gc.callbacks.remove(self._after_collection)

    def _after_collection(self, phase: str, info: dict[str, Any]) -> None:
        # (run by the collector in whichever thread allocated: it may only freeze and ask
        # the loop for a full pass; a collection cannot start another)
        if phase == "stop" and info["generation"] >= 1 and not self._in_full_pass:
            self.freeze_survivors()

    def freeze_survivors(self) -> None:
        """Freeze what is in the old generation (what survived); ask for a full pass when
        the frozen objects may have doubled since the last one."""
        self.frozen_at_most += len(gc.get_objects(generation=2))
        gc.freeze()
        if self.frozen_at_most > self._limit() and not self._full_pass_due:
            self._full_pass_due = True
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self.full_pass_if_due)

    def _limit(self) -> int:
        return max(FULL_PASS_FLOOR, 2 * self.frozen_after_full_pass)

    def full_pass_if_due(self) -> None:
        """Count the frozen objects; a full pass if they have doubled since the last."""
        self._full_pass_due = False
        self.frozen_at_most = gc.get_freeze_count()
        if self.frozen_at_most > self._limit():
            self.full_pass()

    def full_pass(self) -> None:
        """Collect every object, the frozen ones too (the loop waits: the stall the rest
        avoids), and freeze the survivors."""
        started = time.perf_counter()
        before = gc.get_freeze_count()
        self._in_full_pass = True
        try:
            gc.unfreeze()
            collected = gc.collect()
            gc.freeze()
        finally:
            self._in_full_pass = False
        self.frozen_after_full_pass = self.frozen_at_most = gc.get_freeze_count()
        self.full_passes += 1
        log.debug(
            "full garbage collection: %d objects, %d collected, %.0f ms",
            before,
            collected,
            (time.perf_counter() - started) * 1000,
        )
