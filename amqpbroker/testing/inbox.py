"""What a harness client received: the broker's output bytes decoded (with pamqp, not with the
broker's own codec) into methods and ``Delivery`` values, kept per channel until read.

A method that carries content (basic.deliver, basic.get-ok, basic.return) becomes one
``Delivery`` once its header and whole body have arrived; heartbeats are only counted.  Bytes
that end in the middle of a frame wait for the next ``feed``.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from pamqp import body as pbody
from pamqp import commands
from pamqp import exceptions as pexceptions
from pamqp import frame as pframe
from pamqp import header as pheader
from pamqp import heartbeat as pheartbeat
from pamqp.base import Frame

M = TypeVar("M", bound=Frame)
ContentMethod = commands.Basic.Deliver | commands.Basic.GetOk | commands.Basic.Return


@dataclasses.dataclass
class Delivery:
    """A method that carries content (deliver, get-ok, return) with its content."""

    method: ContentMethod
    properties: commands.Basic.Properties
    body: bytes = b""
    body_size: int = 0  # from the content header: the body is whole once it is reached

    @property
    def headers(self) -> dict[str, Any]:
        return dict(self.properties.headers or {})


# A protocol header comes back only when the client's was refused.
Received = Frame | Delivery | pheader.ProtocolHeader


class Inbox:
    """Decoded frames by channel, oldest first; reading one removes it."""

    def __init__(self) -> None:
        self._undecoded = bytearray()
        self._unread: dict[int, deque[Received]] = {}
        self._partial: dict[int, Delivery] = {}  # content still arriving, by channel
        self.heartbeats = 0

    def feed(self, data: bytes) -> None:
        self._undecoded += data
        while len(self._undecoded) >= 8:
            try:
                size, channel, frame = pframe.unmarshal(bytes(self._undecoded))
            except pexceptions.UnmarshalingException:
                if self._whole_frame_buffered():
                    raise
                return  # the rest of the frame comes with a later feed
            del self._undecoded[:size]
            self._decoded(channel, frame)

    def _whole_frame_buffered(self) -> bool:
        size = int.from_bytes(self._undecoded[3:7], "big")
        return len(self._undecoded) >= 7 + size + 1

    def _decoded(self, channel: int, frame: pframe.FrameTypes) -> None:
        if isinstance(frame, pheartbeat.Heartbeat):
            self.heartbeats += 1
        elif isinstance(frame, ContentMethod):
            self._partial[channel] = Delivery(frame, commands.Basic.Properties())
        elif isinstance(frame, pheader.ContentHeader):
            partial = self._partial[channel]
            partial.properties, partial.body_size = frame.properties, frame.body_size
            self._complete(channel)
        elif isinstance(frame, pbody.ContentBody):
            self._partial[channel].body += frame.value
            self._complete(channel)
        else:
            self._unread.setdefault(channel, deque()).append(frame)

    def _complete(self, channel: int) -> None:
        if len(self._partial[channel].body) >= self._partial[channel].body_size:
            self._unread.setdefault(channel, deque()).append(self._partial.pop(channel))

    # -- reading ---------------------------------------------------------------------------

    def received(self, channel: int) -> list[Received]:
        """Everything unread on ``channel`` (now read)."""
        return list(self._unread.pop(channel, ()))

    def deliveries(self, channel: int) -> list[Delivery]:
        """The unread deliveries on ``channel`` (now read); anything else stays unread."""
        items = self.received(channel)
        others = [item for item in items if not isinstance(item, Delivery)]
        if others:
            self._unread[channel] = deque(others)
        return [item for item in items if isinstance(item, Delivery)]

    def next(self, channel: int) -> Received | None:
        """The oldest unread thing on ``channel``, or None."""
        unread = self._unread.get(channel)
        return unread.popleft() if unread else None

    def take(self, channel: int, wanted: Callable[[Received], bool]) -> Received | None:
        """The oldest unread thing on ``channel`` that is ``wanted`` (the rest stay unread)."""
        unread = self._unread.get(channel, deque())
        for item in unread:
            if wanted(item):
                unread.remove(item)
                return item
        return None

    def expect(self, channel: int, kind: type[M]) -> M:
        """The next thing on ``channel`` must be a ``kind`` method."""
        return _must_be(kind, channel, self.next(channel))

    def reply(self, channel: int, kind: type[M]) -> M:
        """The next method on ``channel`` must be a ``kind``; basic.deliver received before
        it stays unread."""
        return _must_be(kind, channel, self.take(channel, lambda item: not is_deliver(item)))

    def take_first(self, channel: int, *kinds: type[Frame]) -> Frame | None:
        """The oldest unread method of one of ``kinds`` on ``channel`` (others stay unread)."""
        got = self.take(channel, lambda item: isinstance(item, kinds))
        return got if isinstance(got, Frame) else None


def is_deliver(item: Received) -> bool:
    """A basic.deliver: what a consumer receives at any moment, between replies."""
    return isinstance(item, Delivery) and isinstance(item.method, commands.Basic.Deliver)


def _must_be(kind: type[M], channel: int, got: Received | None) -> M:
    assert isinstance(got, kind), f"expected {kind.__name__} on {channel}, got {show(got)}"
    return got


def show(item: object) -> str:
    """A method with its fields, for assertion messages."""
    if isinstance(item, Frame):
        return f"{item.name}{dict(item)}"
    if isinstance(item, Delivery):
        return f"Delivery({show(item.method)}, {item.body!r})"
    return repr(item)
