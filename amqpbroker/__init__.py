"""amqpbroker: an AMQP 0-9-1 broker in Python that RabbitMQ clients use unchanged."""

from amqpbroker.version import __version__

__all__ = ["__version__"]
