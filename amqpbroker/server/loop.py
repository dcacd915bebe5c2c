"""The event loop every broker runs on (uvloop), what it does with stray errors, and the
garbage collector's settings for a broker process of its own (``amqpbroker serve``)."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import uvloop

log = logging.getLogger(__name__)


def new_event_loop() -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def log_loop_exception(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    exc = context.get("exception")
    log.error(
        "unhandled error in the event loop: %s",
        context.get("message"),
        exc_info=exc if isinstance(exc, BaseException) else None,
    )


# Allocations between two collections of the youngest generation (CPython: 700).
YOUNG_COLLECTION_EVERY = 50_000


def tune_garbage_collector() -> None:
    """For a process that is a broker (not one embedded in a test run: its settings are the
    program's).  Queued messages are many long-lived objects, and every message makes a
    few short-lived ones: with CPython's defaults, collections that walk every queued
    message took a fifth of the broker's time under load.  Young collections now come
    rarely enough that most messages have gone by then, and what start-up loaded is
    never walked again."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, middle, old)
