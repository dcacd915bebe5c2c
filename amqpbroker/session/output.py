"""A connection's output between two writes to its socket.

Theory of operation: frames are appended as they are produced and the transport takes them
all at once, normally at the end of the loop tick (``take_tick``), so many deliveries leave
in one write.  The first write into an empty buffer asks the transport for that flush
(``request_flush``).  Two marks bound what a tick may pile up:

- ``OUTPUT_EARLY_WRITE``: past it the transport is asked to write at once (``write_now``), in the
  middle of the tick.  A tick spent reading many publishes from many connections can last a
  second, and their consumers would otherwise hear nothing until it ends.
- ``OUTPUT_HIGH_WATER``: past it the buffer is not ``writable``, and deliveries wait for the next
  tick.  Without it a consumer without prefetch would have a whole backlog encoded in one
  tick.  The socket's own back-pressure (``paused``) also makes it not writable.

Deliveries held back may go on once the tick's output went out (``take_tick`` says so
when it was over the mark) or once the socket drains (``paused`` back to False).
"""

from __future__ import annotations

from collections.abc import Callable

OUTPUT_HIGH_WATER = 1 << 20
OUTPUT_EARLY_WRITE = 256 << 10


class OutputBuffer:
    """Frames waiting for the transport's next write."""

    __slots__ = ("_chunks", "_request_flush", "_write_now", "paused", "size")

    def __init__(
        self,
        request_flush: Callable[[], None] = lambda: None,
        write_now: Callable[[], None] = lambda: None,
    ) -> None:
        self._chunks: list[bytes] = []
        self._request_flush = request_flush  # output waits: flush at the end of the tick
        self._write_now = write_now  # output outgrew OUTPUT_EARLY_WRITE: take it now
        self.size = 0  # bytes waiting
        self.paused = False  # the socket's buffer is full (transport back-pressure)

    def write(self, data: bytes) -> None:
        if not self._chunks:
            self._request_flush()
        self._chunks.append(data)
        self.size += len(data)
        if self.size >= OUTPUT_EARLY_WRITE:
            self._write_now()

    @property
    def writable(self) -> bool:
        """False while deliveries should wait (socket backed up, or a big tick)."""
        return not self.paused and self.size < OUTPUT_HIGH_WATER

    def take(self) -> bytes:
        """Everything written so far (for a write in the middle of a tick)."""
        data = b"".join(self._chunks)
        self._chunks.clear()
        self.size = 0
        return data

    def take_tick(self) -> tuple[bytes, bool]:
        """The tick's output, and whether deliveries that the high-water mark held back may
        now go on (their next frames leave with the next tick)."""
        if not self._chunks:
            return b"", False
        was_full = self.size >= OUTPUT_HIGH_WATER
        return self.take(), was_full and not self.paused
