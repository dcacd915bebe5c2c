"""The event loop every broker runs on (uvloop), and what it does with stray errors (the
garbage collector's policy for a broker process of its own: ``collector.py``)."""

from __future__ import annotations

import asyncio
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
