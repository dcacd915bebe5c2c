"""Publisher confirms of one channel: which publishes may be confirmed, and how.

Theory of operation: in confirm mode every publish gets the next sequence number and is
settled at once, ack (routed, or unroutable) or nack (a full queue refused it).  A message
that went to disk may only be confirmed once it is there.  The store records writes in
numbered batches; a publish remembers the batch being filled when it was published, and the
store tells when a batch and all before it are on disk (``durable``).  One such callback per
batch is enough, so the tracker says when the caller must ask for one
(``ConfirmWait.NEW_BATCH``).

Confirms go out in publish order: one waiting for the disk holds back those after it, so a
``multiple`` ack never covers a message that is not yet safe.  ``settled`` hands out the
settled prefix as few frames as possible: a run of acks as one ack (``multiple`` when the
run is longer than one), each nack on its own (``multiple`` as well: everything before it
is settled, so that covers just it, as RabbitMQ does).
"""

from __future__ import annotations

import enum
from collections import deque
from typing import NamedTuple


class ConfirmWait(enum.Enum):
    """What the caller must do after ``published``."""

    NONE = "settled now: send the confirms at the end of the input at hand"
    NEW_BATCH = "call durable(batch) once the store batch is on disk"
    SAME_BATCH = "a callback for that batch is already asked for"


class Confirm(NamedTuple):
    """One basic.ack (``ack``) or basic.nack to send."""

    seq: int
    multiple: bool
    ack: bool


class ConfirmTracker:
    """Sequence numbers and unsent confirms of one channel in confirm mode."""

    __slots__ = ("_awaited", "_durable", "_pending", "acks_sent", "last_seq")

    def __init__(self) -> None:
        self.last_seq = 0  # the sequence number of the last publish
        # (seq, store batch it waits for or 0, ack), in publish order
        self._pending: deque[tuple[int, int, bool]] = deque()
        self._durable = 0  # every store batch up to this one is on disk
        self._awaited = 0  # the last batch a durable() call is expected for
        self.acks_sent = 0  # publishes confirmed with an ack so far (nacks not counted)

    def published(self, ack: bool = True, batch: int = 0) -> ConfirmWait:
        """A publish is settled (``ack`` or nack), safe once store batch ``batch`` is on
        disk (0: nothing to wait for)."""
        self.last_seq += 1
        self._pending.append((self.last_seq, batch, ack))
        if batch <= self._durable:
            return ConfirmWait.NONE
        if batch == self._awaited:
            return ConfirmWait.SAME_BATCH
        self._awaited = batch
        return ConfirmWait.NEW_BATCH

    @property
    def unconfirmed(self) -> int:
        """Publishes whose confirm has not gone out yet."""
        return len(self._pending)

    def durable(self, batch: int) -> None:
        """Store batch ``batch`` and all before it are on disk."""
        self._durable = max(self._durable, batch)

    def settled(self) -> list[Confirm]:
        """The confirms that may go out now, in order; they count as sent."""
        pending = self._pending
        durable = self._durable
        confirms: list[Confirm] = []
        run_end, run_length = 0, 0
        while pending and pending[0][1] <= durable:
            seq, _, ack = pending.popleft()
            if ack:
                run_end, run_length = seq, run_length + 1
                continue
            if run_length:
                confirms.append(Confirm(run_end, run_length > 1, True))
                self.acks_sent += run_length
                run_length = 0
            confirms.append(Confirm(seq, True, False))
        if run_length:
            confirms.append(Confirm(run_end, run_length > 1, True))
            self.acks_sent += run_length
        return confirms

    def clear(self) -> None:
        """The channel closed: its unsent confirms are never sent."""
        self._pending.clear()
