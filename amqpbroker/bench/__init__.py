"""``amqpbroker bench``: load scenarios against any AMQP 0-9-1 broker, by URL."""
