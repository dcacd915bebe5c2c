"""The alarm gauges (``rabbitmq_alarms_*``) and the memory watermark they are measured
against, from the broker's alarm state.

Today the only alarm is ``BrokerServer.block_publishers`` (``broker.alarm.reason``): while
publishers are blocked the memory alarm reads 1.  The resource alarms (memory and disk
measurements) plug in here: ``alarm_states`` is the one place the metrics read them.
"""

from __future__ import annotations

import os

from amqpbroker.management.broker import ManagedBroker

MEMORY_WATERMARK = 0.4  # RabbitMQ's default vm_memory_high_watermark.relative


def alarm_states(broker: ManagedBroker) -> dict[str, int]:
    """1 for each alarm in effect, keyed as ``families.ALARMS``."""
    return {
        "memory": int(broker.alarm.reason is not None),
        "disk": 0,
        "file_descriptors": 0,
    }


def memory_limit() -> int:
    """The memory high watermark in bytes: 40 % of the machine's memory, as RabbitMQ's
    default."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError):
        return 0
    return int(total * MEMORY_WATERMARK)
