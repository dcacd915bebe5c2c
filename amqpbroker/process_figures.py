"""This process's own figures as the kernel reports them (``/proc``), read by the alarm
monitor (its memory baseline) and the management API and metrics (the node's memory and
file descriptors)."""

from __future__ import annotations

import os
import resource


def resident_bytes() -> int:
    """This process's resident set size (0 where /proc is not there)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def file_descriptors() -> tuple[int, int]:
    """(open file descriptors, their soft limit) of this process."""
    try:
        used = len(os.listdir("/proc/self/fd"))
    except OSError:
        used = 0
    try:
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        soft = 1024
    return used, soft if soft > 0 else 1024
