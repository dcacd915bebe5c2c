"""RabbitMQ 3.10.8's Prometheus endpoint (rabbitmq_prometheus): ``/metrics`` aggregated and
``/metrics/per-object``, on a listener of its own (``prometheus.tcp.port``, 15692).

``families.py`` names every metric with RabbitMQ's type and HELP text, ``readings.py`` reads
the broker's existing counters at scrape time (nothing is counted per message for it),
``alarms.py`` the alarm gauges, ``exposition.py`` writes the text format with
``prometheus_client`` a slice at a time, and ``server.py`` is the aiohttp listener.
"""
