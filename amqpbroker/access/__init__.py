"""Who may connect and what they may touch: users, password hashes, SASL, permissions.

Pure and synchronous (no I/O): the session asks it at login, at connection.open and before
each AMQP method that names a resource; storage journals its changes.
"""
