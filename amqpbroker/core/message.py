"""Messages as the broker holds them: raw content header bytes plus body.

The content header is the client's own bytes (class id, weight, body size, property flags
and properties) and is forwarded unchanged.  Properties are decoded lazily, only when a
feature needs one (headers exchange now; persistence, TTL and priorities later).
"""

from __future__ import annotations

import struct
from typing import Any

from pamqp.header import ContentHeader

from .journeys import Journey
from .ports import StoreRef


class Message:
    """One published message; shared by every queue it was routed to."""

    __slots__ = (
        "_properties",
        "body",
        "exchange",
        "frames",
        "frames_key",
        "header",
        "journey",
        "persistent",
        "priority",
        "routing",
        "routing_key",
        "sender_keys",
        "store_ref",
        "ttl",
    )

    def __init__(
        self,
        exchange: str,
        routing_key: str,
        routing: bytes,
        header: bytes,
        body: bytes,
        persistent: bool = False,
    ) -> None:
        self.exchange = exchange
        self.routing_key = routing_key
        self.routing = routing  # exchange + routing key as wire short strings
        # The keys of its CC and BCC headers: it is routed by these too, wherever it goes.
        self.sender_keys: tuple[str, ...] = ()
        self.header = header
        self.body = body
        self.persistent = persistent  # delivery_mode 2
        self.store_ref: StoreRef | None = None  # where the store wrote it, once it did
        self.ttl: int | None = None  # per-message TTL in ms (the expiration property)
        self.priority = 0  # the priority property (0 when absent)
        self._properties: Any = None
        self.journey: Journey | None = None  # its ``core.journeys.Journey`` while its vhost traces
        # The session's encoding of header and body for one (channel, frame size), kept for
        # a message routed to several queues: their deliveries on such a channel reuse it.
        # (-1: not kept, 0: to be kept once encoded.)
        self.frames_key = -1
        self.frames = b""

    @property
    def properties(self) -> Any:
        """The decoded pamqp ``Basic.Properties`` (decoded once, on first use)."""
        if self._properties is None:
            self._properties = decode_properties(self.header)
        return self._properties

    def reset_properties(self) -> None:
        """The header bytes changed: decode them afresh when next asked."""
        self._properties = None

    @property
    def headers(self) -> dict[str, Any]:
        headers = self.properties.headers
        return headers if isinstance(headers, dict) else {}

    @property
    def size(self) -> int:
        return len(self.body)


def decode_properties(header: bytes) -> Any:
    """A raw content header's pamqp ``Basic.Properties`` (empty ones if it does not decode)."""
    content_header = ContentHeader()
    try:
        content_header.unmarshal(header)
    except (ValueError, TypeError, IndexError, struct.error, RecursionError):
        # (RecursionError: tables nested deeper than pamqp's recursion can follow)
        return ContentHeader().properties
    return content_header.properties


def routing_bytes(exchange: str, routing_key: str) -> bytes:
    """Exchange and routing key as the wire short strings a delivery carries."""
    parts = []
    for name in (exchange, routing_key):
        raw = name.encode("utf-8", "surrogateescape")[:255]
        parts.append(bytes((len(raw),)) + raw)
    return b"".join(parts)


class Envelope:
    """A message's place in one queue: its sequence number there, its redelivered flag and
    (in a quorum queue) how often it came back."""

    __slots__ = ("delivery_count", "expires_at", "message", "redelivered", "seq")

    def __init__(self, message: Message, seq: int, expires_at: float | None = None) -> None:
        self.message = message
        self.seq = seq
        self.redelivered = False
        self.delivery_count = 0  # returns to a quorum queue (always 0 in other queues)
        self.expires_at = expires_at  # clock time after which it is dead (None: never)
