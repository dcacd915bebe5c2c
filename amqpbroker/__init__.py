"""amqpbroker: an AMQP 0-9-1 broker in Python that RabbitMQ clients use unchanged.

``from amqpbroker import Broker, BrokerThread`` gives the embedded brokers (async, threaded).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from amqpbroker.version import __version__

if TYPE_CHECKING:
    from amqpbroker.embedded.broker import Broker, BrokerThread

__all__ = ["Broker", "BrokerThread", "__version__"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so that `import amqpbroker.protocol` stays free of the server.
    if name in ("Broker", "BrokerThread"):
        from amqpbroker.embedded import broker as embedded  # noqa: PLC0415

        return getattr(embedded, name)
    raise AttributeError(f"module 'amqpbroker' has no attribute {name!r}")
