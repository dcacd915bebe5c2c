"""This process's own figures as the kernel reports them (``/proc``), read by the alarm
monitor (its memory baseline) and the management API and metrics (the node's memory)."""

from __future__ import annotations

import os


def resident_bytes() -> int:
    """This process's resident set size (0 where /proc is not there)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
