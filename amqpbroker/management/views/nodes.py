"""The node item of ``/api/nodes`` (RabbitMQ 3.10.8's key set), from this process.

True values: ``name``, ``uptime`` (ms since the broker started), ``os_pid``, ``processors``,
``fd_used``/``fd_total`` (open descriptors and the soft limit), ``sockets_used`` (client
connections), the resource alarms' figures as last measured (``core.alarms.Alarms``:
``mem_used``, ``mem_limit``, ``mem_alarm``, ``disk_free``, ``disk_free_limit``,
``disk_free_alarm``), ``exchange_types``, ``auth_mechanisms``, ``config_files``, ``db_dir``.
Fixed, as there is no Erlang VM behind them: ``proc_*``, ``run_queue``, ``gc_*``, ``io_*``,
``mnesia_*``, ``msg_store_*``, ``queue_index_*``, ``context_switches``, ``net_ticktime``,
``applications`` (the management plugin only), the churn counters (0).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from amqpbroker.core.alarms import Alarms
from amqpbroker.process_figures import file_descriptors
from amqpbroker.version import __version__

from .context import ViewContext
from .formats import with_details

EXCHANGE_TYPE_DESCRIPTIONS = {
    "direct": "AMQP direct exchange, as per the AMQP specification",
    "fanout": "AMQP fanout exchange, as per the AMQP specification",
    "headers": "AMQP headers exchange, as per the AMQP specification",
    "topic": "AMQP topic exchange, as per the AMQP specification",
}
AUTH_MECHANISM_DESCRIPTIONS = {
    "PLAIN": "SASL PLAIN authentication mechanism",
    "AMQPLAIN": "QPid AMQPLAIN mechanism",
    "EXTERNAL": "SASL EXTERNAL authentication mechanism",
}
_COUNTERS = (
    "channel_closed",
    "channel_created",
    "connection_closed",
    "connection_created",
    "context_switches",
    "gc_bytes_reclaimed",
    "gc_num",
    "io_read_bytes",
    "io_read_count",
    "io_reopen_count",
    "io_seek_count",
    "io_sync_count",
    "io_write_bytes",
    "io_write_count",
    "mnesia_disk_tx_count",
    "mnesia_ram_tx_count",
    "msg_store_read_count",
    "msg_store_write_count",
    "queue_created",
    "queue_declared",
    "queue_deleted",
    "queue_index_read_count",
    "queue_index_write_count",
)
_AVERAGES = ("io_read_avg_time", "io_seek_avg_time", "io_sync_avg_time", "io_write_avg_time")


def exchange_types(names: Iterable[str] = EXCHANGE_TYPE_DESCRIPTIONS) -> list[dict[str, Any]]:
    """``exchange_types`` of the overview and the node: ``{name, description, enabled}``."""
    return [
        {"name": name, "description": EXCHANGE_TYPE_DESCRIPTIONS.get(name, ""), "enabled": True}
        for name in sorted(names)
    ]


def node_item(
    context: ViewContext,
    alarms: Alarms,
    *,
    connections: int = 0,
    data_dir: str | None = None,
    mechanisms: Sequence[str] = ("PLAIN", "AMQPLAIN"),
    config_files: Sequence[str] = (),
    management_contexts: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """One item of ``/api/nodes`` (and ``GET /api/nodes/{name}``)."""
    fd_used, fd_total = file_descriptors()
    item: dict[str, Any] = {
        "applications": [
            {
                "name": "amqpbroker",
                "description": "amqpbroker, an AMQP 0-9-1 broker in Python",
                "version": __version__,
            }
        ],
        "auth_mechanisms": [
            {
                "name": name,
                "description": AUTH_MECHANISM_DESCRIPTIONS.get(name, ""),
                "enabled": True,
            }
            for name in mechanisms
        ],
        "cluster_links": [],
        "config_files": list(config_files),
        "contexts": list(management_contexts),
        "db_dir": str(Path(data_dir).resolve()) if data_dir else "",
        "disk_free_alarm": alarms.disk_free_alarm,
        "disk_free_limit": alarms.disk_free_limit,
        "enabled_plugins": ["rabbitmq_management"],
        "exchange_types": exchange_types(),
        "fd_total": fd_total,
        "log_files": ["<stdout>"],
        "mem_alarm": alarms.mem_alarm,
        "mem_calculation_strategy": "allocated",
        "mem_limit": alarms.mem_limit,
        "metrics_gc_queue_length": dict.fromkeys(
            (
                "connection_closed",
                "channel_closed",
                "consumer_deleted",
                "exchange_deleted",
                "queue_deleted",
                "vhost_deleted",
                "node_node_deleted",
                "channel_consumer_deleted",
            ),
            0,
        ),
        "name": context.node,
        "net_ticktime": 60,
        "os_pid": str(os.getpid()),
        "partitions": [],
        "proc_total": 1048576,
        "processors": os.cpu_count() or 1,
        "ra_open_file_metrics": {"ra_log_wal": 0, "ra_log_segment_writer": 0},
        "rates_mode": "basic",
        "run_queue": 0,
        "running": True,
        "sockets_total": max(fd_total - 192, 0),
        "type": "disc",
        "uptime": int((time.time() - context.started_at) * 1000),
    }
    with_details(item, dict.fromkeys(_COUNTERS, 0), {})
    with_details(item, dict.fromkeys(_AVERAGES, 0.0), {})
    with_details(
        item,
        {
            "disk_free": alarms.disk_free,
            "fd_used": fd_used,
            "mem_used": alarms.mem_used,
            "proc_used": 1,
            "sockets_used": connections,
        },
        {},
    )
    return dict(sorted(item.items()))
