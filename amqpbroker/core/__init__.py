"""The pure broker model: vhosts, exchanges and bindings, queues, consumers.  No I/O, no clock."""
