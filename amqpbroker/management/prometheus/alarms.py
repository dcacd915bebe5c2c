"""The alarm gauges (``rabbitmq_alarms_*``) and the watermarks beside them, from the
broker's alarm state: the one place the metrics read resource alarms.

Today the only alarm is ``BrokerServer.block_publishers`` (``broker.alarm.reason``): while
publishers are blocked the memory alarm reads 1, and the watermarks are the management
API's (``views/nodes.py``: 40 % of the machine's memory, 50 MB of free disk).  Memory and
disk alarms driven by measurements plug in here.
"""

from __future__ import annotations

from amqpbroker.management.broker import ManagedBroker
from amqpbroker.management.views.nodes import _DISK_FREE_LIMIT, _memory_limit


def alarm_states(broker: ManagedBroker) -> dict[str, int]:
    """1 for each alarm in effect, keyed as ``families.ALARMS``."""
    return {
        "memory": int(broker.alarm.reason is not None),
        "disk": 0,
        "file_descriptors": 0,
    }


def watermarks(broker: ManagedBroker) -> tuple[int, int]:
    """(memory high watermark, free disk space limit) in bytes."""
    return _memory_limit(), _DISK_FREE_LIMIT
