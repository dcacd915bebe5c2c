"""SASL: the mechanisms the broker offers and how their responses are read."""

from __future__ import annotations

import struct
from collections.abc import Iterable

# Offered by default, in RabbitMQ's order; EXTERNAL (client certificates) when configured.
MECHANISMS = ("PLAIN", "AMQPLAIN")
EXTERNAL = "EXTERNAL"
# Every mechanism this broker knows, in the order RabbitMQ 3.10.8 lists them in
# connection.start whatever the order of auth_mechanisms.N (its registry's order).
KNOWN_MECHANISMS = ("PLAIN", "AMQPLAIN", EXTERNAL)


def offered_mechanisms(configured: Iterable[str], tls: bool) -> tuple[str, ...]:
    """What a listener offers: the configured mechanisms, in RabbitMQ's order; EXTERNAL on
    a TLS connection only (offered there even without a client certificate, so that the
    refusal says why, as rabbitmq_auth_mechanism_ssl does)."""
    wanted = set(configured)
    return tuple(name for name in KNOWN_MECHANISMS if name in wanted and (tls or name != EXTERNAL))


class AuthError(Exception):
    """SASL failed.  ``credentials_checked`` is False when the response was not even usable."""

    def __init__(self, message: str, *, credentials_checked: bool = False) -> None:
        super().__init__(message)
        self.credentials_checked = credentials_checked


def parse_plain(response: bytes) -> tuple[str, str]:
    """SASL PLAIN as RabbitMQ reads it: NUL user NUL password (no authorisation identity)."""
    parts = response.split(b"\x00")
    if len(parts) != 3 or parts[0]:
        raise AuthError("PLAIN login refused: malformed response")
    return parts[1].decode("utf-8", "replace"), parts[2].decode("utf-8", "replace")


def parse_amqplain(response: bytes) -> tuple[str, str]:
    """AMQPLAIN: a field table without its length prefix, holding LOGIN and PASSWORD."""
    fields: dict[str, str] = {}
    offset = 0
    try:
        while offset < len(response):
            key_len = response[offset]
            key = response[offset + 1 : offset + 1 + key_len].decode("utf-8", "replace")
            offset += 1 + key_len
            kind = response[offset : offset + 1]
            offset += 1
            if kind != b"S":
                raise AuthError("AMQPLAIN login refused: unsupported field type")
            (length,) = struct.unpack_from(">I", response, offset)
            offset += 4
            fields[key] = response[offset : offset + length].decode("utf-8", "replace")
            offset += length
    except (IndexError, struct.error):
        raise AuthError("AMQPLAIN login refused: malformed response") from None
    if "LOGIN" not in fields or "PASSWORD" not in fields:
        raise AuthError("AMQPLAIN login refused: missing LOGIN or PASSWORD")
    return fields["LOGIN"], fields["PASSWORD"]
