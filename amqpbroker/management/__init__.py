"""The management HTTP API: RabbitMQ 3.10.8's routes, JSON shapes and errors."""
