"""Broker configuration: frozen dataclasses holding RabbitMQ's defaults."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

# SASL mechanisms a broker offers by default (RabbitMQ's auth_mechanisms).
DEFAULT_AUTH_MECHANISMS = ("PLAIN", "AMQPLAIN")


@dataclass(frozen=True, slots=True)
class TLSConfig:
    """RabbitMQ's ``ssl_options`` (and ``ssl_handshake_timeout``): how the AMQPS listener
    serves TLS.  Files are paths to PEM files; they are read when the broker starts
    (``server/tls.py`` builds the ``ssl.SSLContext`` and explains what is wrong).

    ``verify="verify_peer"`` asks clients for a certificate and checks it against
    ``cacertfile``; with ``fail_if_no_peer_cert`` a client without one is refused.  Client
    certificates are also what the EXTERNAL mechanism logs in with."""

    certfile: str
    keyfile: str = ""  # "": the key is in certfile
    cacertfile: str = ""
    password: str = ""  # of an encrypted keyfile
    verify: str = "verify_none"  # or "verify_peer"
    fail_if_no_peer_cert: bool = False
    depth: int | None = None  # accepted for RabbitMQ's sake; OpenSSL's default (100) applies
    versions: tuple[str, ...] = ()  # "tlsv1.3", "tlsv1.2"; () both
    ciphers: tuple[str, ...] = ()  # OpenSSL names; () OpenSSL's defaults
    honor_cipher_order: bool = False
    handshake_timeout: float = 5.0  # seconds (RabbitMQ's ssl_handshake_timeout, 5000 ms)


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
    # The largest message body accepted (rabbitmq.conf max_message_size; 128 MiB as in
    # RabbitMQ 3.10): a content header announcing more closes the channel with 406.
    max_message_size: int = 134217728
    # How long a delivery may stay unacknowledged before its channel is closed with 406
    # (rabbitmq.conf consumer_timeout, ms; 30 minutes as in RabbitMQ 3.10; None: never).
    consumer_timeout: int | None = 1_800_000
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
    # Seconds between samplings of the message statistics' rates (RabbitMQ's
    # collect_statistics_interval, 5000 ms; core.sampler); 0 turns the sampling off.
    stats_interval: float = 5.0
    # AMQPS (RabbitMQ's listeners.ssl.default and ssl_options): a TLS listener on tls_port
    # (0 picks a free one) when it is set, with ``tls``; tls_host None means ``host``.
    tls: TLSConfig | None = None
    tls_port: int | None = None
    tls_host: str | None = None
    # False: no plain AMQP listener (RabbitMQ's "listeners.tcp = none").
    tcp_listener: bool = True
    # The SASL mechanisms offered (RabbitMQ's auth_mechanisms.N; EXTERNAL on TLS only), and
    # what of a client certificate EXTERNAL takes as the user name.
    auth_mechanisms: tuple[str, ...] = DEFAULT_AUTH_MECHANISMS
    ssl_cert_login_from: str = "distinguished_name"  # common_name, subject_alternative_name
    ssl_cert_login_san_type: str = "dns"  # with subject_alternative_name: dns, email, uri
    ssl_cert_login_san_index: int = 0
    # The management HTTP API (rabbitmq.conf management.tcp.port / management.tcp.ip):
    # None for none (embedded brokers' default; ``amqpbroker serve`` listens on 15672), 0
    # picks a free port; management_host None means ``host``.  management_tls (the
    # management.ssl.* keys) makes it HTTPS.
    management_port: int | None = None
    management_host: str | None = None
    management_tls: TLSConfig | None = None
    # The Prometheus endpoint (rabbitmq.conf prometheus.tcp.port / prometheus.tcp.ip): None
    # for none (embedded brokers' default; ``amqpbroker serve`` listens on 15692), 0 picks
    # a free port; prometheus_host None means ``host``.
    prometheus_port: int | None = None
    prometheus_host: str | None = None
    # Resource alarms (server/alarm_monitor.py).  The memory high watermark: a fraction of
    # the machine's memory (or of the cgroup's limit, whichever is smaller), unless an
    # absolute number of bytes is given (capped at that memory, as RabbitMQ does).
    vm_memory_high_watermark: float = 0.4
    vm_memory_high_watermark_absolute: int | None = None
    # Publishers are blocked while the data directory's file system has less free space
    # than this (bytes), or than disk_free_limit_relative times the memory when that is set.
    disk_free_limit: int = 50_000_000
    disk_free_limit_relative: float | None = None
    # Seconds between two measurements (RabbitMQ's memory_monitor_interval, 2500 ms; its
    # disk monitor's interval is at most 10 s).  0 turns that monitor off.
    memory_monitor_interval: float = 2.5
    disk_monitor_interval: float = 10.0

    @property
    def in_memory(self) -> bool:
        return self.data_dir in (None, "", MEMORY)

    def url(self, host: str, port: int, scheme: str = "amqp") -> str:
        """The URL a client uses to reach this broker as its default user and vhost
        (``scheme="amqps"`` for the TLS listener)."""
        return amqp_url(
            self.default_user, self.default_pass, host, port, self.default_vhost, scheme
        )

    @property
    def tls_listener(self) -> bool:
        """Whether an AMQPS listener is configured (RabbitMQ's listeners.ssl)."""
        return self.tls_port is not None


MEMORY = ":memory:"


def amqp_url(
    user: str, password: str, host: str, port: int, vhost: str, scheme: str = "amqp"
) -> str:
    """``amqp://user:pass@host:port/vhost``, quoted; the vhost '/' is the bare trailing slash."""
    netloc_host = f"[{host}]" if ":" in host else host
    path = "" if vhost == "/" else quote(vhost, safe="")
    credentials = f"{quote(user, safe='')}:{quote(password, safe='')}"
    return f"{scheme}://{credentials}@{netloc_host}:{port}/{path}"
