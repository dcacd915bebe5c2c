"""Sans-IO AMQP 0-9-1 codec: bytes in, frames and commands out; no sockets, no clock."""
