"""The scenarios by name and what they measure, apart from the code that runs them.

The CLI reads this as it starts; importing the load generator itself (multiprocessing,
workers, reports) would add a tenth of a second to every ``amqpbroker serve``.
"""

from __future__ import annotations

REFERENCE_URL = "amqp://guest:guest@127.0.0.1:5673/"  # ../shared/tools/refbroker.sh

SCENARIO_DESCRIPTIONS = {
    "a-1to1-16b": "1 publisher -> 1 consumer, 16 B transient bodies, no-ack",
    "b-1to1-1k-ack": "as a with 1 KiB bodies, manual ack of each, prefetch 100",
    "c-persistent-confirms": "1 KiB persistent to a durable queue, confirms (256 unconfirmed "
    "at most), consumer acks (prefetch 100)",
    "d-fanout-10": "1 publisher -> fanout exchange -> 10 queues, a consumer each",
    "e-50x50": "50 publisher + 50 consumer connections on 50 queues, 16 B",
    "f-latency-2000": "1 publisher at 2,000 msg/s -> 1 consumer, 16 B: latency",
    "g-backlog-200k": "200,000 x 1 KiB with no consumer, then drained: rates and broker memory",
    "h-topic-10k": "topic exchange with 10, then 10,000 bindings (one matches): rate and ratio",
}
# Full names and their letters.
SCENARIO_NAMES = [*SCENARIO_DESCRIPTIONS, *(name[0] for name in SCENARIO_DESCRIPTIONS)]
OTHER_NAMES = [
    "all",
    "startup",
    "recovery",
    "hotpath",
    "management",
    "metrics",
    "alarm",
    "connections",
]


def scenario_help() -> str:
    lines = [f"  {name:<22} {text}" for name, text in SCENARIO_DESCRIPTIONS.items()]
    return "\n".join(lines)
