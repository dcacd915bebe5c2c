"""AMQP semantics per connection and channel: handshake, handlers, delivery tags, confirms, tx."""
