"""Brokers run inside another program (``Broker``, ``BrokerThread``) and their test-only
powers: inspection, virtual time, fault injection and virtual hosts.

Everything here sits above ``server`` and drives it through its event loop; a broker run by
``amqpbroker serve`` has none of it.
"""
