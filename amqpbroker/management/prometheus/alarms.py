"""The alarm gauges (``rabbitmq_alarms_*``) and the watermarks beside them, from the
broker's alarm state (``core.alarms.Alarms``, measured by ``server/alarm_monitor.py``): the
one place the metrics read resource alarms.  A hand-raised ``block_publishers`` counts as a
memory alarm, as the connections see it (blocked "low on memory").
"""

from __future__ import annotations

from amqpbroker.management.broker import ManagedBroker


def alarm_states(broker: ManagedBroker) -> dict[str, int]:
    """1 for each alarm in effect, keyed as ``families.ALARMS``."""
    alarms = broker.alarms
    return {
        "memory": int(alarms.mem_alarm or broker.alarm.reason is not None),
        "disk": int(alarms.disk_free_alarm),
        "file_descriptors": 0,
    }


def watermarks(broker: ManagedBroker) -> tuple[int, int]:
    """(memory high watermark, free disk space limit) in bytes."""
    return broker.alarms.mem_limit, broker.alarms.disk_free_limit
