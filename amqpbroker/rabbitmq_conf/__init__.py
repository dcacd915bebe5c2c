"""RabbitMQ's configuration file and environment variables, read into a ``BrokerConfig``."""

from .broker_keys import apply_environment
from .reader import ConfigFileError, load_config

__all__ = ["ConfigFileError", "apply_environment", "load_config"]
