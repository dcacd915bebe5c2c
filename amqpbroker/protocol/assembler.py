"""Per-channel command assembly (RabbitMQ's ``rabbit_command_assembler``).

Theory of operation: a content-bearing method (basic.publish) opens an assembly on its
channel; the content header must follow, then body frames until the announced size is
reached, and only then is the whole command handed on.  Frames of other channels may
interleave; anything else on the same channel is UNEXPECTED_FRAME with RabbitMQ's wording.
Like RabbitMQ, a body that overshoots the announced size never completes, so the next
method on that channel is unexpected.  The properties are not looked at here: RabbitMQ
decodes them only once the publish passed its exchange and permission checks (the session's
``handle_content``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from amqpbroker.errors import FrameError, PreconditionFailed, UnexpectedFrame

from .erlang import frame_octets
from .fastcodec import Publish, content_header_fields, decode_publish
from .framing import FRAME_HEADER
from .ids import (
    BASIC_CLASS,
    DELIVER_INDEX,
    GET_OK_INDEX,
    PUBLISH_IDS,
    PUBLISH_INDEX,
    RETURN_INDEX,
    class_and_method,
    prefix,
)
from .methods import Method, decode_method

_PUBLISH_PREFIX = prefix(PUBLISH_INDEX)
# basic.return, basic.deliver, basic.get-ok: content-bearing, but never sent by clients.
_OTHER_CONTENT_METHODS = frozenset(map(prefix, (RETURN_INDEX, DELIVER_INDEX, GET_OK_INDEX)))
EXPECTED_METHOD = "expected method frame, got non method frame instead"
EXPECTED_HEADER = "expected content header for class 60, got non content header frame instead"
EXPECTED_BODY = "expected content body, got non content body frame instead"


DEFAULT_MAX_MESSAGE_SIZE = 134217728  # 128 MiB, RabbitMQ 3.10's default
HARD_MAX_MESSAGE_SIZE = 536870912  # RabbitMQ's ceiling (its texts differ at it)


class _Dropped(list[bytes]):
    """The parts of a body refused for its size: nothing is kept."""

    def append(self, part: bytes) -> None:
        pass


@dataclass(slots=True)
class Content:
    """A complete content-bearing command: its method, raw content header and body.

    Clients send content only with basic.publish; the other content-bearing methods
    (basic.return, deliver, get-ok) are assembled too, as RabbitMQ does, and refused after.
    """

    publish: Publish | None
    method: Method | None = None  # set for the methods that are not basic.publish
    header: bytes = b""
    body_size: int = -1  # -1 until the content header arrived
    parts: list[bytes] = field(default_factory=list)
    received: int = 0

    @property
    def body(self) -> bytes:
        return self.parts[0] if len(self.parts) == 1 else b"".join(self.parts)

    @property
    def ids(self) -> tuple[int, int]:
        """(class id, method id) of the method carrying this content."""
        if self.method is None:
            return PUBLISH_IDS
        return class_and_method(self.method.index)


# Publishers mostly repeat a few exchange/routing-key pairs: their decoded methods are kept.
_PUBLISH_CACHE_SIZE = 256


class CommandAssembler:
    """Turns method, header and body frames into methods and complete publishes."""

    __slots__ = ("_pending", "_publishes", "max_message_size")

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        self._pending: dict[int, Content] = {}
        self._publishes: dict[bytes, Publish] = {}
        self.max_message_size = max_message_size

    def _decode_publish(self, payload: bytes) -> Publish:
        publish = self._publishes.get(payload)
        if publish is None:
            publish = decode_publish(payload)
            if len(self._publishes) >= _PUBLISH_CACHE_SIZE:
                self._publishes.clear()
            self._publishes[payload] = publish
        return publish

    def assembling(self, channel: int) -> bool:
        """True while a content-bearing method on ``channel`` waits for its content."""
        return channel in self._pending

    def whole_publish(self, channel: int, method: bytes) -> Publish:
        """A publish whose frames came together (``framing.FRAME_PUBLISH``), after the
        checks the frame-by-frame path makes, in its order (the framing ones are done)."""
        if channel in self._pending:
            self.method_frame(channel, method)  # raises UnexpectedFrame, as it would there
        return self._publishes.get(method) or self._decode_publish(method)

    def method_frame(self, channel: int, payload: bytes) -> Method | Content | None:
        """A method, or None when it opened a content assembly."""
        pending = self._pending.get(channel)
        if pending is not None:
            expected = EXPECTED_HEADER if pending.body_size < 0 else EXPECTED_BODY
            raise UnexpectedFrame(expected, *pending.ids)
        if len(payload) < 4:
            raise FrameError(f"type 1, {frame_octets(payload)}: unknown_frame")
        head = payload[:4]
        if head == _PUBLISH_PREFIX:
            self._pending[channel] = Content(self._decode_publish(payload))
            return None
        method = decode_method(payload)
        if head in _OTHER_CONTENT_METHODS:
            self._pending[channel] = Content(None, method)
            return None
        return method

    def content_frame(self, frame_type: int, channel: int, payload: bytes) -> Content | None:
        """The complete publish once its last frame arrived, else None."""
        pending = self._pending.get(channel)
        if pending is None:
            raise UnexpectedFrame(EXPECTED_METHOD)
        if frame_type == FRAME_HEADER:
            if pending.body_size >= 0:
                raise UnexpectedFrame(EXPECTED_BODY, *pending.ids)
            class_id, weight, body_size = content_header_fields(payload)
            if weight != 0:  # RabbitMQ only recognises weight 0 as a content header
                raise UnexpectedFrame(EXPECTED_HEADER, *pending.ids)
            if class_id != BASIC_CLASS:
                raise UnexpectedFrame(
                    f"expected content header for class 60, got one for class {class_id} instead",
                    *pending.ids,
                )
            pending.header = payload
            pending.body_size = body_size
            if body_size > self.max_message_size:
                self._refuse_size(pending)
        else:
            if pending.body_size < 0:
                raise UnexpectedFrame(EXPECTED_HEADER, *pending.ids)
            if payload:
                pending.parts.append(payload)
                pending.received += len(payload)
        if pending.received == pending.body_size:
            del self._pending[channel]
            return pending
        return None

    def _refuse_size(self, pending: Content) -> None:
        """406 for a body over max_message_size, told at its content header (RabbitMQ
        3.10.8 tells it once the body is in; the broker does not hold the body meanwhile):
        the body frames still to come are counted and dropped, then ignored on the closed
        channel."""
        pending.parts = _Dropped()
        limit, size = self.max_message_size, pending.body_size
        which = "max size" if limit == HARD_MAX_MESSAGE_SIZE else "configured max size"
        raise PreconditionFailed(
            f"message size {size} is larger than {which} {limit}", class_id=60, method_id=40
        )

    def discard(self, channel: int) -> None:
        """Forget a half-assembled publish (its channel closed)."""
        self._pending.pop(channel, None)
