"""``amqpbroker ctl``: rabbitmqctl's commands, output and exit codes, over the management API.

``group.py`` is the click group; ``context.py`` its shared options (``-p``, ``-q``, ``-s``,
``--formatter``, ``-n``) and how a command fails; ``output.py`` prints values, tables and JSON
as rabbitmqctl 3.10.8 does; ``listings.py`` says what each ``list_*`` command lists;
``list_commands.py``, ``access_commands.py``, ``object_commands.py`` and ``node_commands.py``
are the commands."""
