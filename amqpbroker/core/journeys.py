"""Message journeys: what became of each message published while its vhost traces.

A vhost whose tracing is on (``VirtualHost.set_tracing``) keeps a ``JourneyRecorder``: a
ring of the last ``RING_SIZE`` journeys.  A traced message carries its ``Journey`` in
``Message.journey`` (None for every other message: the hooks test that one slot), and the
places where something happens to it append an event: routed, returned, dropped,
delivered, got, acked, rejected, requeued, expired, dead-lettered (the dead-lettered copy
carries the same journey on), purged, queue deleted.  Every event gets the next number of
its vhost's recorder (``seq``) and the wall-clock time in epoch milliseconds (``at``), so a
reader can ask for what changed since the last number it saw.

Nothing here decodes properties or renders JSON: the management API does that
(``management/journey_routes.py``) from the raw header kept on the journey.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any, NamedTuple

from .ports import Clock, ManualClock

RING_SIZE = 1000  # journeys kept per vhost
EVENTS_MAX = 50  # events kept per journey (a message requeued forever stops growing here)
PAYLOAD_KEPT = 256  # body octets kept for the preview


class Party(NamedTuple):
    """Who published or received: the connection's name, the channel's number, the user."""

    connection: str
    channel: int
    user: str


class Publication(NamedTuple):
    """A message as it was published: where to, by whom, its content header and body."""

    exchange: str
    routing_key: str
    by: Party
    header: bytes
    body: bytes


class Journey:
    """One traced message: where it was published, by whom, and its events in order."""

    __slots__ = (
        "channel",
        "connection",
        "events",
        "exchange",
        "header",
        "id",
        "last_seq",
        "payload",
        "published_at",
        "recorder",
        "routing_key",
        "size",
        "user",
    )

    def __init__(self, recorder: JourneyRecorder, number: int, published: Publication) -> None:
        self.recorder = recorder
        self.id = number
        self.published_at = recorder.now_ms()
        self.exchange = published.exchange
        self.routing_key = published.routing_key
        self.connection, self.channel, self.user = published.by
        # the content header as published (properties, decoded on read); of the body, only
        # its size and a preview (the journey outlives the message)
        self.header = published.header
        self.size = len(published.body)
        self.payload = published.body[:PAYLOAD_KEPT]
        self.events: list[dict[str, Any]] = []
        self.last_seq = 0

    def add(self, kind: str, **fields: Any) -> None:
        """Append an event (while the vhost still traces; at most ``EVENTS_MAX``)."""
        recorder = self.recorder
        if not recorder.on or len(self.events) >= EVENTS_MAX:
            return
        seq = recorder.next_seq()
        self.last_seq = seq
        self.events.append({"seq": seq, "at": recorder.now_ms(), "type": kind, **fields})


class JourneyRecorder:
    """A vhost's journeys, newest last, at most ``RING_SIZE``."""

    def __init__(self, vhost: str, clock: Clock, size: int = RING_SIZE) -> None:
        self.vhost = vhost
        self.clock = clock
        self.on = False
        self.journeys: deque[Journey] = deque(maxlen=size)
        self.latest = 0  # the last event's seq
        self._next_id = 0

    def now_ms(self) -> int:
        return int(self.clock.wall() * 1000)

    def next_seq(self) -> int:
        self.latest += 1
        return self.latest

    def start(self, published: Publication) -> Journey:
        """A journey for a message just published (kept in the ring)."""
        self._next_id += 1
        journey = Journey(self, self._next_id, published)
        self.journeys.append(journey)
        return journey

    def since(self, seq: int, limit: int = 200) -> list[Journey]:
        """Newest first, at most ``limit``: the journeys with an event numbered above ``seq``."""
        found: list[Journey] = []
        for journey in reversed(self.journeys):
            if journey.last_seq > seq:
                found.append(journey)
                if len(found) >= limit:
                    break
        return found

    def clear(self) -> None:
        """Forget every journey (the messages on their way record no more of them)."""
        for journey in self.journeys:
            journey.recorder = _FORGOTTEN
        self.journeys.clear()


def switch_tracing(vhost: Any, on: bool) -> str:
    """Turn a ``VirtualHost``'s tracing on or off (RabbitMQ's trace_on/trace_off; the hooks
    test ``vhost.tracing``) and say so as RabbitMQ logs it.  The journeys recorded so far
    stay until cleared."""
    if vhost.tracing == on:
        return f"Tracing is already {'enabled' if on else 'disabled'} for vhost '{vhost.name}'"
    vhost.tracing = vhost.journeys.on = on
    return f"{'Enabling' if on else 'Disabling'} tracing for vhost '{vhost.name}'"


# -- events recorded for many messages at once -----------------------------------------------------

# Where a message that died goes when its queue has no dead-letter exchange: the event
# telling it, by reason (a rejected message already has its ``rejected`` event).
_GONE = {"expired": "expired", "maxlen": "dropped", "delivery_limit": "dropped"}


def record_gone(queue: str, messages: Iterable[Any], reason: str) -> None:
    """Messages that died in ``queue`` with nowhere to go (``reason`` as dead-lettering's)."""
    kind = _GONE.get(reason)
    if kind is None:
        return
    for message in messages:
        journey = message.journey
        if journey is not None:
            if kind == "expired":
                journey.add("expired", queue=queue)
            else:
                journey.add(kind, queue=queue, reason=reason)


def record_held(kind: str, queue: Any) -> None:
    """The same event (``purged``, ``queue_deleted``) for every traced message ``queue``
    holds in memory (those paged out carry no journey)."""
    name = queue.name
    for envelope in list(queue.ready.in_memory()):
        journey = envelope.message.journey
        if journey is not None:
            journey.add(kind, queue=name)


def carry_on(original: Any, copy: Any, queue: str, reason: str, targets: list[Any]) -> None:
    """``original`` died in ``queue`` and its dead-lettered ``copy`` was routed to
    ``targets``: the copy continues the same journey."""
    journey = original.journey
    if journey is None:
        return
    copy.journey = journey
    keys = [copy.routing_key, *copy.sender_keys]
    journey.add(
        "dead_lettered", queue=queue, reason=reason, exchange=copy.exchange, routing_keys=keys
    )
    journey.add("routed", queues=[target.name for target in targets])
    if not targets:
        journey.add("dropped", reason="unroutable")


# The recorder of cleared journeys: never on, so they record nothing more.
_FORGOTTEN = JourneyRecorder("", ManualClock())
