"""A small client of the management HTTP API (RabbitMQ's ``/api/...``) for the command line:
``amqpbroker definitions export/import`` (and ``amqpbroker ctl`` to come).  Standard library
only: ``settings.py`` (where the API is, how a request fails) is all the command line
imports at start; ``client.py`` (``ManagementClient``, over ``urllib``) is imported by the
command that runs."""
