"""How long the management views take for many queues: ``python -m
amqpbroker.bench.management_views [QUEUES]``.

Builds a broker state with QUEUES (10,000) classic queues in one vhost, a message in every
tenth, a binding each, then times what ``/api/queues`` and ``/api/bindings`` would do:
every queue item, the longest chunk of ``views.listing.CHUNK`` items (what holds the event
loop between two yields), JSON encoding, and ``apply_query`` with a sort and a page.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from amqpbroker.config import BrokerConfig
from amqpbroker.core.broker import BrokerState
from amqpbroker.core.message import Message
from amqpbroker.management.views import (
    UnackedIndex,
    ViewContext,
    apply_query,
    in_chunks,
    iter_binding_items,
    json_array_pieces,
    queue_items,
    queues_of,
    vhost_binding_items,
)
from amqpbroker.management.views.listing import CHUNK


def populated_state(queues: int) -> BrokerState:
    state = BrokerState(BrokerConfig())
    vhost = state.vhosts["/"]
    for number in range(queues):
        name = f"bench-queue-{number:05d}"
        queue = vhost.declare_queue(
            name,
            passive=False,
            durable=False,
            exclusive=False,
            auto_delete=False,
            arguments={"x-max-length": 1000} if number % 2 else {},
            owner=None,
        )
        vhost.bind("amq.direct", queue, name, {"x-bench": number} if number % 3 else {})
        if number % 10 == 0:
            queue.enqueue(Message("", name, b"", b"", b"hello"))
    return state


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return (time.perf_counter() - started) * 1000, result


def longest_step_ms(steps: Iterator[Any]) -> float:
    """The longest time one ``next(steps)`` took (what holds the loop between yields)."""
    longest = 0.0
    while True:
        elapsed, step = timed(lambda: next(steps, None))
        if step is None:
            return longest
        longest = max(longest, elapsed)


def main(argv: list[str]) -> None:
    count = int(argv[0]) if argv else 10_000
    state = populated_state(count)
    context = ViewContext()
    build_ms, items = timed(lambda: list(queue_items(queues_of(state), context, UnackedIndex())))
    json_ms, body = timed(lambda: json.dumps(items))
    query_ms, _ = timed(
        lambda: apply_query(items, {"sort": "messages", "page": "2", "page_size": "100"})
    )
    bindings_ms, bindings = timed(lambda: vhost_binding_items(state.vhosts["/"]))
    print(
        f"{count} queue items: {build_ms:.0f} ms to build ({build_ms * 1000 / count:.1f} µs each)"
    )
    chunks = in_chunks(queue_items(queues_of(state), context, UnackedIndex()), CHUNK)
    print(f"  longest chunk of {CHUNK} items: {longest_step_ms(chunks):.1f} ms")
    print(f"  json.dumps at once: {json_ms:.0f} ms ({len(body) / 1e6:.1f} MB)")
    pieces = json_array_pieces(queue_items(queues_of(state), context, UnackedIndex()))
    print(
        f"  longest json_array_pieces piece (built and encoded): {longest_step_ms(pieces):.1f} ms"
    )
    print(f"  apply_query (sort=messages, page 2 of 100): {query_ms:.0f} ms")
    print(f"{len(bindings)} binding items: {bindings_ms:.0f} ms")
    binding_chunks = in_chunks(iter_binding_items(state.vhosts["/"]), CHUNK)
    print(f"  longest chunk of {CHUNK} binding items: {longest_step_ms(binding_chunks):.1f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])
