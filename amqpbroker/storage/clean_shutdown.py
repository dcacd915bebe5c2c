"""Whether the last broker on a data directory shut down cleanly.

A clean shutdown leaves a marker file once everything it had to write is on disk; recovery
takes the marker away (durably) before the broker serves again.  No marker at start-up
means the last broker was killed, or lost power, or was itself killed while recovering.

What an unclean shutdown can lose, besides unconfirmed messages, is the record that a
message was delivered: deliveries go to the socket in the same loop tick as their record
goes to the writer thread, not after it is on disk (waiting for the fsync would hold every
delivery up).  So after an unclean shutdown recovery counts every message still in a queue
as delivered: each comes back ``redelivered=true``.  RabbitMQ 3.10 does the same for classic
queues (the v1 index marks every message delivered on a dirty recovery; the v2 queue moves
its next-deliver mark past the newest message).
"""

from __future__ import annotations

import os
from pathlib import Path

from .writer import fsync_directory

MARKER_NAME = "clean-shutdown"


def mark_clean(data_dir: Path, *, fsync: bool = True) -> None:
    """Record that everything is written (call last, once the writer has stopped)."""
    path = data_dir / MARKER_NAME
    data_dir.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        if fsync:
            os.fsync(handle.fileno())
    if fsync:
        fsync_directory(data_dir)


def take_clean_mark(data_dir: Path) -> bool:
    """Whether the last shutdown was clean; from now on, until ``mark_clean``, it counts
    as unclean (the marker's removal reaches the disk before this returns)."""
    path = data_dir / MARKER_NAME
    if not path.exists():
        return False
    path.unlink()
    fsync_directory(data_dir)
    return True
