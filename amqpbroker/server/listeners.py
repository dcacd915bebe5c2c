"""The broker's listening sockets: plain AMQP and AMQPS, as RabbitMQ's listeners.tcp and
listeners.ssl, and what each offers the connections it accepts.

Both listen when TLS is configured; ``tcp_listener=False`` (``listeners.tcp = none``) leaves
TLS only.  A connection accepted on the TLS socket reaches ``AMQPProtocol`` only once its
TLS handshake has succeeded, within ``ssl_handshake_timeout``; the AMQP
``handshake_timeout`` starts then, as RabbitMQ's does.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from amqpbroker.access.sasl import EXTERNAL, offered_mechanisms
from amqpbroker.config import BrokerConfig, TLSConfig

from .tls import certificate_login_name, server_context

AMQP, AMQPS = "amqp", "amqps"


@dataclass(frozen=True, slots=True)
class Listener:
    """What a connection accepted on one listening socket is offered: the SASL mechanisms
    and, on TLS, the user name its client certificate gives (EXTERNAL)."""

    scheme: str = AMQP
    mechanisms: tuple[str, ...] = offered_mechanisms(BrokerConfig().auth_mechanisms, tls=False)
    login_from: str = "distinguished_name"
    san_type: str = "dns"
    san_index: int = 0

    def certificate_name(self, transport: asyncio.BaseTransport) -> str | None:
        if EXTERNAL not in self.mechanisms:
            return None
        return certificate_login_name(transport, self.login_from, self.san_type, self.san_index)


PLAIN_LISTENER = Listener()


class ListenError(OSError):
    """A listening socket could not be opened: ``str()`` says which and why."""

    def __init__(self, scheme: str, host: str, port: int, error: OSError) -> None:
        super().__init__(error.errno, error.strerror)
        self.message = f"cannot listen on {scheme}://{host}:{port}: {error.strerror or error}"

    def __str__(self) -> str:
        return self.message


class Listeners:
    """The listening sockets of one broker; ``open`` them (again after ``close``, on the
    same ports: a restart), ``port(AMQP)`` / ``port(AMQPS)`` once open."""

    def __init__(self, config: BrokerConfig) -> None:
        self._config = config
        # Built at once so that bad TLS options stop the broker before anything starts.
        self._ssl_context: ssl.SSLContext | None = None
        if config.tls_port is not None:  # a TLS port without ssl_options: certfile missing
            self._ssl_context = server_context(config.tls or TLSConfig(certfile=""))
        self._servers: dict[str, asyncio.Server] = {}
        self._ports = {AMQP: config.port, AMQPS: config.tls_port or 0}

    def listener(self, scheme: str) -> Listener:
        tls = scheme == AMQPS
        mechanisms = offered_mechanisms(self._config.auth_mechanisms, tls=tls)
        config = self._config
        return Listener(
            scheme,
            mechanisms,
            config.ssl_cert_login_from,
            config.ssl_cert_login_san_type,
            config.ssl_cert_login_san_index,
        )

    @property
    def schemes(self) -> tuple[str, ...]:
        """The listeners configured, plain first."""
        plain = (AMQP,) if self._config.tcp_listener else ()
        return plain + ((AMQPS,) if self._ssl_context is not None else ())

    async def open(self, protocol_factory: Callable[[Listener], asyncio.Protocol]) -> None:
        """Listen on every configured socket; ``OSError`` if a port is taken (the ones
        opened are closed again)."""
        try:
            for scheme in self.schemes:
                await self._open(scheme, protocol_factory)
        except BaseException:
            self.close()
            raise

    async def _open(
        self, scheme: str, protocol_factory: Callable[[Listener], asyncio.Protocol]
    ) -> None:
        config, listener = self._config, self.listener(scheme)
        tls: dict[str, Any] = {}
        host = config.host
        if scheme == AMQPS:
            timeout = (config.tls or TLSConfig(certfile="")).handshake_timeout
            tls = {"ssl": self._ssl_context, "ssl_handshake_timeout": timeout}
            host = config.tls_host or config.host
        try:
            server = await asyncio.get_running_loop().create_server(
                lambda: protocol_factory(listener),
                host,
                self._ports[scheme],
                reuse_address=True,
                **tls,
            )
        except OSError as error:
            raise ListenError(scheme, host, self._ports[scheme], error) from None
        self._servers[scheme] = server
        self._ports[scheme] = self.port(scheme)  # a restart listens on the same port

    def port(self, scheme: str) -> int:
        server = self._servers.get(scheme)
        if server is None or not server.sockets:
            raise RuntimeError(f"no {scheme} listener")
        sockname: Any = server.sockets[0].getsockname()
        return int(sockname[1])

    def host(self, scheme: str) -> str:
        if scheme == AMQPS:
            return self._config.tls_host or self._config.host
        return self._config.host

    @property
    def is_open(self) -> bool:
        return bool(self._servers)

    def close(self) -> None:
        """Stop accepting (connections already made go on)."""
        for server in self._servers.values():
            server.close()

    async def wait_closed(self) -> None:
        servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            await server.wait_closed()

    def forget(self) -> None:
        """Closed without waiting (a restart): ``open`` starts afresh."""
        self.close()
        self._servers = {}
