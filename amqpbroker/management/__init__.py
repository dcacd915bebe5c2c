"""The management HTTP API: RabbitMQ 3.10.8's ``/api/...`` routes, on the broker's own loop.

A layer over the server-side state (core, access, definitions, snapshots, session): it never
imports ``server/``; the server hands it a ``ManagedBroker`` (``broker.py``) and starts it
(``BrokerServer.start_management``).  aiohttp is imported only here, and this package only
when the API is turned on, so a broker without it never loads the HTTP stack.

Rooms: ``app.py`` (the application, its middleware and the listener), ``routes.py`` (the
route table, one place to add a route), ``auth.py`` (HTTP Basic, tags, vhost access),
``http.py`` (RabbitMQ's error bodies, JSON in and out, path segments), ``node_routes.py``
(overview, whoami, extensions, cluster-name, aliveness-test, health checks),
``access_routes.py`` (vhosts, users, permissions, topic permissions), ``definitions_routes.py``,
``views/`` (pure: the JSON items of queues, exchanges,
bindings, connections, channels, consumers, vhosts, nodes and the overview, and the query
parameters ``columns``, ``sort``, paging).
"""
