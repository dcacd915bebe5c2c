"""``amqpbroker bench``: a load generator for any AMQP 0-9-1 broker, by URL.

One room per concern, from the wire up:

- ``client``    a minimal AMQP client (asyncio.Protocol): hot frames parsed in place
- ``messages``  the publish template and the stamp in every body (publisher, sequence, time)
- ``stats``     latency histogram, sequence checks, measurement windows
- ``board``     shared memory between the parent and its worker processes
- ``workers``   the worker processes: one connection each, publishing or consuming
- ``fleet``     the parent's side of the workers: launch, start, wait, collect
- ``topology``  the queues, exchanges and bindings of a run
- ``target``    the broker under test: URL, process, CPU and memory; our own ``serve``
- ``runs``      the shapes of a run (steady, backlog) and the figures they yield
- ``scenarios`` issue 7's scenarios a to h
- ``report``    progress line, summaries, JSON lines, tables
- ``compare``   amqpbroker against RabbitMQ, alternating: ``--compare`` / ``make bench``
- ``command``   what the ``bench`` command does with its options
- ``startup``, ``recovery``  start-up and recovery times of our own broker
"""
