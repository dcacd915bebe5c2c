"""Broker configuration: frozen dataclasses holding RabbitMQ's defaults."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    """Everything the broker can be told at start-up.  Defaults are RabbitMQ 3.x's."""

    host: str = "127.0.0.1"
    port: int = 5672
    default_user: str = "guest"
    default_pass: str = "guest"
    default_vhost: str = "/"
    # The default user's tags and its configure/write/read permissions on the default vhost.
    default_user_tags: tuple[str, ...] = ("administrator",)
    default_permissions: tuple[str, str, str] = (".*", ".*", ".*")
    # A definitions file (RabbitMQ's JSON export) imported at every boot (load_definitions);
    # when set, the default user and vhost are not created, as in RabbitMQ.
    load_definitions: str | None = None
    # Users who may connect only from a loopback address (RabbitMQ: loopback_users).
    loopback_users: tuple[str, ...] = ("guest",)
    channel_max: int = 2047
    frame_max: int = 131072
    heartbeat: int = 60
    # RabbitMQ gives a client this long from its accept to finish the handshake (up to
    # connection.open-ok), in seconds; math.inf for none (rabbitmq.conf: ms or infinity).
    handshake_timeout: float = 10.0
    # How long the broker waits for connection.close-ok before dropping the socket.
    close_timeout: float = 3.0
    # Like RabbitMQ, a client that fails the handshake before tune-ok is dropped without a
    # reply after this pause (it slows down password guessing).
    silent_close_delay: float = 3.0
    # Where durable state lives; None (or ":memory:") keeps everything in memory.
    data_dir: str | None = None
    # fsync before confirming (turning it off trades crash safety for speed, for tests).
    fsync: bool = True
    # Keep a record of what clients publish, for tests to read (``broker.published``): on for
    # embedded brokers, off for ``amqpbroker serve``; the oldest records go beyond the limit.
    record_published: bool = False
    published_limit: int = 10_000

    @property
    def in_memory(self) -> bool:
        return self.data_dir in (None, "", MEMORY)

    def url(self, host: str, port: int) -> str:
        """The URL a client uses to reach this broker as its default user and vhost."""
        return amqp_url(self.default_user, self.default_pass, host, port, self.default_vhost)


MEMORY = ":memory:"


def amqp_url(user: str, password: str, host: str, port: int, vhost: str) -> str:
    """``amqp://user:pass@host:port/vhost``, quoted; the vhost '/' is the bare trailing slash."""
    netloc_host = f"[{host}]" if ":" in host else host
    path = "" if vhost == "/" else quote(vhost, safe="")
    return f"amqp://{quote(user, safe='')}:{quote(password, safe='')}@{netloc_host}:{port}/{path}"
