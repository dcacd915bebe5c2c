"""The broker's resource alarms as RabbitMQ's memory and disk monitors keep them: the
figures last measured, the limits, and whether each alarm is on.

Pure state, no I/O: ``server/alarm_monitor.py`` measures and feeds it on the loop; the
management API (``/api/nodes``, the alarm health checks) and the Prometheus collector read
it.  ``update_memory`` and ``update_disk`` return what changed so that the caller logs and
blocks or unblocks publishers once per change.
"""

from __future__ import annotations

MEMORY = "memory"
DISK = "disk"

# connection.blocked's reason for each set of alarms (rabbit_reader: "low on " + resources).
_REASONS = {
    (MEMORY,): "low on memory",
    (DISK,): "low on disk",
    (MEMORY, DISK): "low on disk & memory",  # (recorded from RabbitMQ 3.10.8: disk first)
}


class Alarms:
    """Memory and disk figures (bytes) and their alarms; read it, ``update_*`` change it.

    ``mem_used`` is the monitor's figure (see ``server/alarm_monitor.py``), ``mem_limit``
    the high watermark in bytes; ``disk_free`` the data directory's free bytes,
    ``disk_free_limit`` the low mark.  An alarm is on while used > limit (memory) or
    free < limit (disk), as RabbitMQ compares them."""

    __slots__ = (
        "disk_free",
        "disk_free_alarm",
        "disk_free_limit",
        "mem_alarm",
        "mem_limit",
        "mem_used",
    )

    def __init__(self, mem_limit: int, disk_free_limit: int) -> None:
        self.mem_used = 0
        self.mem_limit = mem_limit
        self.mem_alarm = False
        self.disk_free = 0
        self.disk_free_limit = disk_free_limit
        self.disk_free_alarm = False

    def update_memory(self, used: int) -> bool | None:
        """Record a measurement; True if the alarm went on, False if it cleared, else None."""
        self.mem_used = used
        over = used > self.mem_limit
        if over == self.mem_alarm:
            return None
        self.mem_alarm = over
        return over

    def update_disk(self, free: int) -> bool | None:
        """Record a measurement; True if the alarm went on, False if it cleared, else None."""
        self.disk_free = free
        low = free < self.disk_free_limit
        if low == self.disk_free_alarm:
            return None
        self.disk_free_alarm = low
        return low

    @property
    def resources(self) -> tuple[str, ...]:
        """The resources in alarm, memory first ("memory", "disk")."""
        return (MEMORY,) * self.mem_alarm + (DISK,) * self.disk_free_alarm

    @property
    def blocked_reason(self) -> str | None:
        """connection.blocked's reason while any alarm is on, else None."""
        resources = self.resources
        return _REASONS[resources] if resources else None
