"""The broker's figures at scrape time, as rows of values in ``families.py``'s order.

Everything here reads what the broker already keeps for the management API (``core.stats``
counters, ``views/queue_totals``, the node's figures): the endpoint adds no work per
message.  Rows are built a queue, channel or connection at a time so that the exposition
can give the loop back between two slices (``exposition.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

import prometheus_client

from amqpbroker.core.queue import Queue
from amqpbroker.core.stats import CHANNEL_FIELDS, add_counts
from amqpbroker.management.broker import ManagedBroker
from amqpbroker.management.views.connections import acks_uncommitted, unacked_count
from amqpbroker.management.views.context import UnackedIndex
from amqpbroker.management.views.overview import ERLANG_VERSION, RABBITMQ_VERSION
from amqpbroker.process_figures import file_descriptors, resident_bytes
from amqpbroker.session.channel import Channel
from amqpbroker.session.connection import ConnectionSession

Labels = tuple[str, ...]
Row = tuple[Labels, tuple[int, ...]]

_FIELD = {name: index for index, name in enumerate(CHANNEL_FIELDS)}
PROTOCOL = "amqp091"
CLUSTER_ID_PARAMETER = "internal_cluster_id"


def identity_labels(broker: ManagedBroker, node: str) -> dict[str, str]:
    """``rabbitmq_identity_info``'s labels: the node, the cluster's name (the
    ``cluster_name`` global parameter, else the node's) and its permanent id."""
    values = broker.parameters.global_values
    cluster = values.get("cluster_name", node)
    permanent = values.get(CLUSTER_ID_PARAMETER)
    if not isinstance(permanent, str):  # (a broker always makes one when it starts)
        digest = hashlib.sha256(node.encode()).digest()[:16].hex()
        permanent = f"rabbitmq-cluster-id-{digest}"
    return {
        "rabbitmq_node": node,
        "rabbitmq_cluster": str(cluster),
        "rabbitmq_cluster_permanent_id": permanent,
    }


def build_labels() -> dict[str, str]:
    """``rabbitmq_build_info``'s labels: the versions this broker answers as."""
    return {
        "rabbitmq_version": RABBITMQ_VERSION,
        "prometheus_plugin_version": RABBITMQ_VERSION,
        "prometheus_client_version": _client_version(),
        "erlang_version": ERLANG_VERSION,
    }


def _client_version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("prometheus-client")
    except PackageNotFoundError:  # pragma: no cover - installed with the package
        return getattr(prometheus_client, "__version__", "unknown")


def process_figures(broker: ManagedBroker, memory_limit: int, disk_limit: int) -> dict[str, int]:
    """This Python process's figures under RabbitMQ's names: its descriptors and their
    limit, its TCP connections (each a descriptor: the limit is the descriptors'), RSS, the
    memory high watermark and the free disk space of the data directory (the alarm
    monitor's last measurement)."""
    open_fds, max_fds = file_descriptors()
    return {
        "open_fds": open_fds,
        "max_fds": max_fds,
        "open_tcp_sockets": len(broker.connections),
        "max_tcp_sockets": max_fds,
        "resident_memory": resident_bytes(),
        "memory_limit": memory_limit,
        "disk_available": broker.alarms.disk_free,  # (as last measured, off the loop)
        "disk_limit": disk_limit,
    }


def open_sessions(broker: ManagedBroker) -> list[tuple[ConnectionSession, str]]:
    """The connections past connection.open (those RabbitMQ counts), each with the
    management API's name for it: "PEER -> LOCAL"."""
    fallback = f"{broker.config.host}:{broker.config.port}"
    found = []
    for connection in broker.connections:
        session = connection.session
        if session is not None and session.vhost is not None and not session.closed:
            found.append((session, f"{session.peer} -> {connection.local_address or fallback}"))
    return found


def all_queues(broker: ManagedBroker) -> list[Queue]:
    return [queue for vhost in broker.state.vhosts.values() for queue in vhost.queues.values()]


def queue_rows(queues: Iterable[Queue], unacked: UnackedIndex) -> Iterator[Row]:
    """A row per queue, values in ``families.QUEUE``'s order."""
    from amqpbroker.management.views.queue_totals import queue_totals  # noqa: PLC0415

    for queue in queues:
        totals = queue_totals(queue, unacked)
        ready = queue.ready
        yield (
            (queue.vhost, queue.name),
            (
                totals.ready,
                totals.unacked,
                totals.messages,
                len(queue.consumers),
                totals.persistent,
                totals.persistent_bytes,
                totals.bytes,
                totals.ready_bytes,
                totals.unacked_bytes,
                totals.paged_out,
                totals.paged_out_bytes,
                ready.disk_reads,
                ready.disk_writes,
                queue.published,
            ),
        )


def channel_row(channel: Channel, name: str, counts: tuple[int, ...]) -> Row:
    """A channel's row (values in ``families.CHANNEL``'s order); ``counts`` are its
    ``message_counts()``."""
    tx = channel.tx
    f = _FIELD
    return (
        (name,),
        (
            len(channel.consumers) + (channel.reply_consumer is not None),
            unacked_count(channel),
            channel.confirms.unconfirmed if channel.confirm_mode else 0,
            len(tx.publishes) if tx is not None else 0,
            acks_uncommitted(channel),
            channel.shared_prefetch.limit,
            channel.prefetch_count,
            counts[f["publish"]],
            counts[f["confirm"]],
            counts[f["return_unroutable"]],
            counts[f["drop_unroutable"]],
            counts[f["get"]],
            counts[f["get_no_ack"]],
            counts[f["deliver"]],
            counts[f["deliver_no_ack"]],
            counts[f["redeliver"]],
            counts[f["ack"]],
            counts[f["get_empty"]],
        ),
    )


def connection_row(session: ConnectionSession, name: str) -> Row:
    """A connection's row, values in ``families.CONNECTION``'s order (nothing waits in a
    queue of packets here: pending is 0)."""
    return (
        (name,),
        (
            session.recv_oct,
            session.send_oct,
            session.recv_cnt,
            session.send_cnt,
            0,
            len(session.channels),
        ),
    )


def auth_attempts(broker: ManagedBroker) -> dict[str, int]:
    """AMQP's login attempts (``families.AUTH_ATTEMPTS``' keys)."""
    for item in broker.access.auth_attempts.items():
        if item["protocol"] == PROTOCOL:
            return {key: int(str(item[key])) for key in item if key != "protocol"}
    return {"auth_attempts": 0, "auth_attempts_succeeded": 0, "auth_attempts_failed": 0}


class GlobalTotals:
    """The broker's message counts since it started: closed channels' (kept in
    ``BrokerStats.retired``) plus the open channels' added one at a time."""

    def __init__(self, retired: Iterable[int]) -> None:
        self.counts = list(retired)
        self.publishers = 0

    def add_channel(self, counts: tuple[int, ...]) -> None:
        add_counts(self.counts, counts)
        if counts[_FIELD["publish"]]:
            self.publishers += 1

    def by_protocol(self, consumers: int) -> dict[str, int]:
        """``families.GLOBAL_BY_PROTOCOL``'s values.  There is no separate count of
        publishes on confirm channels: every one is confirmed, so the confirmed count
        stands for both."""
        c, f = self.counts, _FIELD
        published = c[f["publish"]]
        unroutable = c[f["return_unroutable"]] + c[f["drop_unroutable"]]
        return {
            "received": published,
            "received_confirm": c[f["confirm"]],
            "confirmed": c[f["confirm"]],
            "routed": max(0, published - unroutable),
            "unroutable_dropped": c[f["drop_unroutable"]],
            "unroutable_returned": c[f["return_unroutable"]],
            "consumers": consumers,
            "publishers": self.publishers,
        }

    def by_queue_type(self) -> dict[str, int]:
        """``families.GLOBAL_BY_QUEUE_TYPE``'s values (reported as classic queues': the
        counts are kept per channel, not per queue type)."""
        c, f = self.counts, _FIELD
        consume_manual, consume_auto = c[f["deliver"]], c[f["deliver_no_ack"]]
        get_manual, get_auto = c[f["get"]], c[f["get_no_ack"]]
        return {
            "delivered": consume_manual + consume_auto + get_manual + get_auto,
            "consume_auto_ack": consume_auto,
            "consume_manual_ack": consume_manual,
            "get_auto_ack": get_auto,
            "get_manual_ack": get_manual,
            "get_empty": c[f["get_empty"]],
            "redelivered": c[f["redeliver"]],
            "acknowledged": c[f["ack"]],
        }
