"""Broker configuration: frozen dataclasses holding RabbitMQ's defaults."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    """Everything the broker can be told at start-up.  Defaults are RabbitMQ 3.x's."""

    host: str = "127.0.0.1"
    port: int = 5672
    default_user: str = "guest"
    default_pass: str = "guest"
    default_vhost: str = "/"
    channel_max: int = 2047
    frame_max: int = 131072
    heartbeat: int = 60
    # RabbitMQ gives a client this long to send its protocol header and finish the handshake.
    handshake_timeout: float = 10.0
    # How long the broker waits for connection.close-ok before dropping the socket.
    close_timeout: float = 3.0
    product: str = "RabbitMQ"
    version: str = "3.10.8"
    extra: dict[str, str] = field(default_factory=dict)
