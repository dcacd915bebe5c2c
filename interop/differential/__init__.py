"""The differential suite: the same scenarios against real RabbitMQ and against amqpbroker."""
