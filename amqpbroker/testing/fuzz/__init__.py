"""A fuzzer for the session layer: mutated, seeded AMQP sessions fed straight into
``ConnectionSession``, hundreds of cases a second, each checked for exceptions, reply codes
RabbitMQ does not use, sessions neither answering nor closed, output out of proportion and
state left behind.  ``python -m amqpbroker.testing.fuzz --help``; ``make fuzz``.

Modules: ``sessions`` writes valid seeded sessions (``fields``: the values they carry),
``mutators`` breaks them, ``runner`` drives a session with them, ``checks`` holds the
rules, ``wire`` the hand-made encodings and the reader of the broker's output.
"""

from .runner import Finding, Report, fuzz, run_case

__all__ = ["Finding", "Report", "fuzz", "run_case"]
