"""Read-only views of a broker: plain frozen dataclasses, detached from the live objects.

An embedded broker hands these to tests (``broker.queue("q")``, ``broker.published``…) and a
management API will serialise them, so fields are named as RabbitMQ's management API names
them where that is natural (``messages_ready``, ``consumer_tag``, ``prefetch_count``,
``peer_host``…).  Views are built on the broker's event loop from the core's objects and
are safe to read from any thread afterwards.  Message properties stay raw content-header
bytes until a test reads ``properties``: decoding costs nothing until then.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pamqp.commands import Basic

from amqpbroker.core.message import Envelope, decode_properties
from amqpbroker.core.queue import Queue
from amqpbroker.core.quorum import QuorumQueue
from amqpbroker.core.stats import (
    EXCHANGE_FIELDS,
    QUEUE_FIELDS,
    QUEUE_SAMPLED_FIELDS,
    exchange_counts,
    queue_counts,
)

if TYPE_CHECKING:
    from amqpbroker.core.exchanges import Binding, Exchange
    from amqpbroker.core.publish_log import PublishRecord

# pamqp calls the ``type`` property ``message_type``; everything else has RabbitMQ's name.
_PAMQP_NAMES = {"type": "message_type"}


@dataclass(frozen=True)
class MessageProperties:
    """The basic properties of a message; None where the publisher did not set one."""

    content_type: str | None = None
    content_encoding: str | None = None
    headers: dict[str, Any] | None = None
    delivery_mode: int | None = None
    priority: int | None = None
    correlation_id: str | None = None
    reply_to: str | None = None
    expiration: str | None = None
    message_id: str | None = None
    timestamp: int | None = None  # seconds since the epoch
    type: str | None = None
    user_id: str | None = None
    app_id: str | None = None
    cluster_id: str | None = None

    @classmethod
    def from_header(cls, header: bytes) -> MessageProperties:
        """Decode a raw content header (class, weight, body size, flags, properties)."""
        decoded = decode_properties(header)
        flags = int.from_bytes(header[12:14], "big") if len(header) >= 14 else 0
        values: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            pamqp_name = _PAMQP_NAMES.get(name, name)
            if flags & Basic.Properties.flags[pamqp_name]:
                values[name] = getattr(decoded, pamqp_name)
        if values.get("timestamp") is not None:
            values["timestamp"] = int(values["timestamp"].timestamp())
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """The properties that are set, by name (as the management API shows them)."""
        return {name: value for name, value in vars(self).items() if value is not None}


class _RawProperties:
    """Views that keep a message's content header raw and decode it when first asked."""

    header: bytes

    @cached_property
    def properties(self) -> MessageProperties:
        return MessageProperties.from_header(self.header)

    @property
    def headers(self) -> dict[str, Any]:
        """The ``headers`` table ({} when there is none)."""
        return self.properties.headers or {}


@dataclass(frozen=True, eq=False)
class MessageView(_RawProperties):
    """A message in a queue: ``properties`` are decoded on first use."""

    exchange: str
    routing_key: str
    body: bytes
    redelivered: bool
    header: bytes  # the raw content header

    def __repr__(self) -> str:
        return f"MessageView(routing_key={self.routing_key!r}, body={self.body[:40]!r})"


@dataclass(frozen=True, eq=False)
class PublishedMessage(_RawProperties):
    """One publish a client made, recorded when it was routed (for a transaction: when it
    was committed).  Properties are as routed: BCC removed, a direct reply-to name filled in,
    as RabbitMQ's firehose shows them."""

    vhost: str
    exchange: str
    routing_key: str
    body: bytes
    queues: tuple[str, ...]  # the queues it was routed to; () when unroutable
    mandatory: bool
    accepted: bool  # False when a full queue (x-overflow reject-publish) refused it
    connection: str  # the publishing connection's ``ConnectionView.id``
    channel: int
    header: bytes  # the raw content header

    @property
    def routed(self) -> bool:
        return bool(self.queues)

    @property
    def unroutable(self) -> bool:
        """No queue took it (a direct reply-to delivery counts as unroutable, as in
        RabbitMQ, which returns it too if it is mandatory)."""
        return not self.queues

    @property
    def returned(self) -> bool:
        """Sent back to the publisher with basic.return (mandatory and unroutable)."""
        return self.mandatory and not self.queues

    def __repr__(self) -> str:
        return (
            f"PublishedMessage(exchange={self.exchange!r}, routing_key={self.routing_key!r}, "
            f"queues={self.queues!r}, body={self.body[:40]!r})"
        )


@dataclass(frozen=True)
class ConsumerView:
    """A basic.consume subscription (the management API's consumer_details)."""

    consumer_tag: str
    queue: str
    vhost: str
    channel: int
    connection: str  # ``ConnectionView.id``
    ack_required: bool  # False for no_ack consumers
    exclusive: bool
    prefetch_count: int
    priority: int  # x-priority
    arguments: dict[str, Any]
    unacked: int  # deliveries to it not yet acknowledged


@dataclass(frozen=True)
class UnackedMessage:
    """A message delivered and not yet acknowledged (nor nacked or rejected)."""

    delivery_tag: int
    consumer_tag: str | None  # None when it was fetched with basic.get
    queue: str
    channel: int
    connection: str  # ``ConnectionView.id``
    message: MessageView


@dataclass(frozen=True)
class QueueView:
    """A snapshot of a queue.

    Unlike the management API, where ``messages`` is a count, ``messages`` holds the ready
    messages themselves, in the order they would be delivered: at most the ``max_messages``
    the snapshot was asked for, and only those in memory (a durable queue keeps a window of
    20,000 in memory and pages the rest out to disk, counted by ``messages_paged_out``).
    ``messages_ready`` counts every ready message, listed or not.
    """

    name: str
    vhost: str
    type: str  # "classic" or "quorum"
    durable: bool
    exclusive: bool
    auto_delete: bool
    arguments: dict[str, Any]
    messages: tuple[MessageView, ...]
    messages_ready: int
    messages_paged_out: int
    consumers: tuple[ConsumerView, ...]
    unacked: tuple[UnackedMessage, ...]
    # The management API's message_stats (publish, deliver, ..., deliver_get), the rates
    # at the last sampling (those and messages, messages_ready, messages_unacknowledged),
    # and the wall-clock time since which the queue is idle (None: active); core.stats.
    message_stats: dict[str, int] = field(default_factory=dict)
    message_rates: dict[str, float] = field(default_factory=dict)
    idle_since: float | None = None

    @property
    def message_count(self) -> int:
        """What queue.declare-ok says: the ready messages."""
        return self.messages_ready

    @property
    def messages_unacknowledged(self) -> int:
        return len(self.unacked)

    @property
    def consumer_count(self) -> int:
        return len(self.consumers)


@dataclass(frozen=True)
class ExchangeView:
    name: str
    vhost: str
    type: str
    durable: bool
    auto_delete: bool
    internal: bool
    arguments: dict[str, Any]
    message_stats: dict[str, int] = field(default_factory=dict)  # publish_in, publish_out
    message_rates: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class BindingView:
    """source --routing_key/arguments--> destination (a queue or an exchange)."""

    source: str
    vhost: str
    destination: str
    destination_type: str  # "queue" or "exchange"
    routing_key: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ChannelView:
    number: int
    prefetch_count: int  # for new consumers (basic.qos global=false)
    global_prefetch_count: int
    confirm: bool
    transactional: bool
    consumer_count: int
    messages_unacknowledged: int
    # publish, confirm, ..., deliver_get (core.stats.CHANNEL_FIELDS), their rates, and
    # since when the channel is idle (None: active).
    message_stats: dict[str, int] = field(default_factory=dict)
    message_rates: dict[str, float] = field(default_factory=dict)
    idle_since: float | None = None


@dataclass(frozen=True)
class ConnectionView:
    """A client connection.

    ``id`` is the client's address, "ip:port" (what its socket's ``getsockname()`` says):
    unique among open connections, and how a test names one connection to the broker.
    ``name`` is RabbitMQ's "ip:port -> ip:port".
    """

    id: str
    name: str
    peer_host: str
    peer_port: int
    state: str  # "starting", "tuning", "opening", "running", "blocked", "closing", "closed"
    user: str
    vhost: str | None
    client_properties: dict[str, Any]
    timeout: int  # the negotiated heartbeat, seconds (0: none)
    frame_max: int
    channel_max: int
    channels: tuple[ChannelView, ...]
    # Octets and socket reads/writes, as RabbitMQ counts them, and the octets' rates.
    recv_oct: int = 0
    recv_cnt: int = 0
    send_oct: int = 0
    send_cnt: int = 0
    octet_rates: dict[str, float] = field(default_factory=dict)  # recv_oct, send_oct

    @property
    def user_provided_name(self) -> str | None:
        """The ``connection_name`` client property, if the client gave one."""
        name = self.client_properties.get("connection_name")
        return name if isinstance(name, str) else None

    @property
    def connection_name(self) -> str | None:
        return self.user_provided_name


@dataclass(frozen=True)
class OverviewStats:
    """The overview's statistics: message_stats (cumulative: closed channels and deleted
    queues included), churn (connections, channels and queues created and gone), queue
    totals, each with the rates of the last sampling."""

    message_stats: dict[str, int]
    message_rates: dict[str, float]
    churn: dict[str, int]
    churn_rates: dict[str, float]
    queue_totals: dict[str, int]
    queue_totals_rates: dict[str, float]


# -- builders (run on the broker's loop) ---------------------------------------------------------


def message_view(envelope: Envelope) -> MessageView:
    message = envelope.message
    return MessageView(
        message.exchange, message.routing_key, message.body, envelope.redelivered, message.header
    )


def published_message(record: PublishRecord) -> PublishedMessage:
    message, queues, mandatory, accepted, vhost, connection, channel = record
    return PublishedMessage(
        vhost,
        message.exchange,
        message.routing_key,
        message.body,
        tuple(queue.name for queue in queues),
        mandatory,
        accepted,
        connection,
        channel,
        message.header,
    )


def queue_view(
    queue: Queue,
    consumers: tuple[ConsumerView, ...],
    unacked: tuple[UnackedMessage, ...],
    max_messages: int,
) -> QueueView:
    """``queue`` with at most ``max_messages`` of its ready messages listed."""
    listed: list[MessageView] = []
    if max_messages > 0:
        for envelope in queue.ready.listed():
            listed.append(message_view(envelope))
            if len(listed) >= max_messages:
                break
    return QueueView(
        name=queue.name,
        vhost=queue.vhost,
        type="quorum" if isinstance(queue, QuorumQueue) else "classic",
        durable=queue.durable,
        exclusive=queue.exclusive,
        auto_delete=queue.auto_delete,
        arguments=copy.deepcopy(queue.arguments),
        messages=tuple(listed),
        messages_ready=queue.message_count,
        messages_paged_out=queue.ready.paged_out_count,
        consumers=consumers,
        unacked=unacked,
        message_stats=dict(zip(QUEUE_FIELDS, queue_counts(queue), strict=False)),
        message_rates=queue.sample.rates_by_name(QUEUE_SAMPLED_FIELDS),
        idle_since=queue.sample.idle_since,
    )


def exchange_view(exchange: Exchange) -> ExchangeView:
    return ExchangeView(
        name=exchange.name,
        vhost=exchange.vhost,
        type=exchange.type_name,
        durable=exchange.durable,
        auto_delete=exchange.auto_delete,
        internal=exchange.internal,
        arguments=copy.deepcopy(exchange.arguments),
        message_stats=dict(zip(EXCHANGE_FIELDS, exchange_counts(exchange), strict=True)),
        message_rates=exchange.sample.rates_by_name(EXCHANGE_FIELDS),
    )


def binding_view(binding: Binding, vhost: str) -> BindingView:
    destination = binding.destination
    return BindingView(
        source=binding.source,
        vhost=vhost,
        destination=destination.name,
        destination_type="queue" if isinstance(destination, Queue) else "exchange",
        routing_key=binding.routing_key,
        arguments=copy.deepcopy(binding.raw_arguments or {}),
    )
