"""``python -m amqpbroker`` is the ``amqpbroker`` command."""

from amqpbroker.cli import main

if __name__ == "__main__":
    main()
