"""Every metric the endpoint exposes: RabbitMQ 3.10.8's name, type and HELP text, and the
labels it carries per object (``/metrics/per-object``)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    UnknownMetricFamily,
)

MetricFamily = GaugeMetricFamily | CounterMetricFamily | UnknownMetricFamily


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    kind: str  # "gauge", "counter" or "untyped"
    help: str
    per_object: bool = True  # False: only in /metrics (RabbitMQ's labels are not kept here)

    def metric(self, labels: tuple[str, ...] = ()) -> MetricFamily:
        """An empty ``prometheus_client`` family with ``labels``."""
        if self.kind == "gauge":
            return GaugeMetricFamily(self.name, self.help, labels=list(labels))
        if self.kind == "counter":
            return CounterMetricFamily(self.name, self.help, labels=list(labels))
        return UnknownMetricFamily(self.name, self.help, labels=list(labels))


def _gauge(name: str, text: str) -> Family:
    return Family(name, "gauge", text)


def _counter(name: str, text: str) -> Family:
    return Family(name, "counter", text)


def _channel_counter(name: str, text: str) -> Family:
    """A channel's count that RabbitMQ splits per exchange or per queue, which the channels
    here do not: in /metrics (summed) but not per object."""
    return Family(name, "counter", text, per_object=False)


IDENTITY = Family("rabbitmq_identity_info", "untyped", "RabbitMQ node & cluster identity info")
BUILD = Family("rabbitmq_build_info", "untyped", "RabbitMQ & Erlang/OTP version info")

# Churn and object counts (always one sample).
CHURN = {
    "connection_created": _counter(
        "rabbitmq_connections_opened_total", "Total number of connections opened"
    ),
    "connection_closed": _counter(
        "rabbitmq_connections_closed_total", "Total number of connections closed or terminated"
    ),
    "channel_created": _counter(
        "rabbitmq_channels_opened_total", "Total number of channels opened"
    ),
    "channel_closed": _counter("rabbitmq_channels_closed_total", "Total number of channels closed"),
    "queue_declared": _counter("rabbitmq_queues_declared_total", "Total number of queues declared"),
    "queue_created": _counter("rabbitmq_queues_created_total", "Total number of queues created"),
    "queue_deleted": _counter("rabbitmq_queues_deleted_total", "Total number of queues deleted"),
}
OBJECT_COUNTS = {
    "connections": _gauge("rabbitmq_connections", "Connections currently open"),
    "channels": _gauge("rabbitmq_channels", "Channels currently open"),
    "consumers": _gauge("rabbitmq_consumers", "Consumers currently connected"),
    "queues": _gauge("rabbitmq_queues", "Queues available"),
}

# The process (``rabbitmq_process_*`` and friends): this Python process's figures.
PROCESS = {
    "open_fds": _gauge("rabbitmq_process_open_fds", "Open file descriptors"),
    "max_fds": _gauge("rabbitmq_process_max_fds", "Open file descriptors limit"),
    "open_tcp_sockets": _gauge("rabbitmq_process_open_tcp_sockets", "Open TCP sockets"),
    "max_tcp_sockets": _gauge("rabbitmq_process_max_tcp_sockets", "Open TCP sockets limit"),
    "resident_memory": _gauge("rabbitmq_process_resident_memory_bytes", "Memory used in bytes"),
    "memory_limit": _gauge(
        "rabbitmq_resident_memory_limit_bytes", "Memory high watermark in bytes"
    ),
    "disk_available": _gauge(
        "rabbitmq_disk_space_available_bytes", "Disk space available in bytes"
    ),
    "disk_limit": _gauge(
        "rabbitmq_disk_space_available_limit_bytes", "Free disk space low watermark in bytes"
    ),
}
# (in /metrics only, untyped, as RabbitMQ's alarm collector)
ALARMS = {
    "memory": Family(
        "rabbitmq_alarms_memory_used_watermark",
        "untyped",
        "is 1 if VM memory watermark threshold is reached",
    ),
    "disk": Family(
        "rabbitmq_alarms_free_disk_space_watermark",
        "untyped",
        "is 1 if free disk space watermark is reached",
    ),
    "file_descriptors": Family(
        "rabbitmq_alarms_file_descriptor_limit",
        "untyped",
        "is 1 if file descriptor limit is reached",
    ),
}
# Login attempts over AMQP, labelled protocol="amqp091".
AUTH_ATTEMPTS = {
    "auth_attempts": _counter(
        "rabbitmq_auth_attempts_total", "Total number of authorization attempts"
    ),
    "auth_attempts_succeeded": _counter(
        "rabbitmq_auth_attempts_succeeded_total",
        "Total number of successful authentication attempts",
    ),
    "auth_attempts_failed": _counter(
        "rabbitmq_auth_attempts_failed_total", "Total number of failed authentication attempts"
    ),
}

# Global counters, labelled protocol="amqp091" (and queue_type for the deliveries).
GLOBAL_BY_PROTOCOL = {
    "received": _counter(
        "rabbitmq_global_messages_received_total",
        "Total number of messages received from publishers",
    ),
    "received_confirm": _counter(
        "rabbitmq_global_messages_received_confirm_total",
        "Total number of messages received from publishers expecting confirmations",
    ),
    "confirmed": _counter(
        "rabbitmq_global_messages_confirmed_total",
        "Total number of messages confirmed to publishers",
    ),
    "routed": _counter(
        "rabbitmq_global_messages_routed_total",
        "Total number of messages routed to queues or streams",
    ),
    "unroutable_dropped": _counter(
        "rabbitmq_global_messages_unroutable_dropped_total",
        "Total number of messages published as non-mandatory into an exchange and dropped "
        "as unroutable",
    ),
    "unroutable_returned": _counter(
        "rabbitmq_global_messages_unroutable_returned_total",
        "Total number of messages published as mandatory into an exchange and returned to "
        "the publisher as unroutable",
    ),
    "consumers": _gauge("rabbitmq_global_consumers", "Current number of consumers"),
    "publishers": _gauge("rabbitmq_global_publishers", "Current number of publishers"),
}
GLOBAL_BY_QUEUE_TYPE = {
    "delivered": _counter(
        "rabbitmq_global_messages_delivered_total",
        "Total number of messages delivered to consumers",
    ),
    "consume_auto_ack": _counter(
        "rabbitmq_global_messages_delivered_consume_auto_ack_total",
        "Total number of messages delivered to consumers using basic.consume with automatic "
        "acknowledgment",
    ),
    "consume_manual_ack": _counter(
        "rabbitmq_global_messages_delivered_consume_manual_ack_total",
        "Total number of messages delivered to consumers using basic.consume with manual "
        "acknowledgment",
    ),
    "get_auto_ack": _counter(
        "rabbitmq_global_messages_delivered_get_auto_ack_total",
        "Total number of messages delivered to consumers using basic.get with automatic "
        "acknowledgment",
    ),
    "get_manual_ack": _counter(
        "rabbitmq_global_messages_delivered_get_manual_ack_total",
        "Total number of messages delivered to consumers using basic.get with manual "
        "acknowledgment",
    ),
    "get_empty": _counter(
        "rabbitmq_global_messages_get_empty_total",
        "Total number of times basic.get operations fetched no message",
    ),
    "redelivered": _counter(
        "rabbitmq_global_messages_redelivered_total",
        "Total number of messages redelivered to consumers",
    ),
    "acknowledged": _counter(
        "rabbitmq_global_messages_acknowledged_total",
        "Total number of messages acknowledged by consumers",
    ),
}
QUEUE_TYPES = ("rabbit_classic_queue", "rabbit_quorum_queue", "rabbit_stream_queue")

# Per queue: labels vhost, queue (summed over every queue in /metrics).
QUEUE = (
    _gauge("rabbitmq_queue_messages_ready", "Messages ready to be delivered to consumers"),
    _gauge(
        "rabbitmq_queue_messages_unacked",
        "Messages delivered to consumers but not yet acknowledged",
    ),
    _gauge(
        "rabbitmq_queue_messages", "Sum of ready and unacknowledged messages - total queue depth"
    ),
    _gauge("rabbitmq_queue_consumers", "Consumers on a queue"),
    _gauge("rabbitmq_queue_messages_persistent", "Persistent messages"),
    _gauge("rabbitmq_queue_messages_persistent_bytes", "Size in bytes of persistent messages"),
    _gauge("rabbitmq_queue_messages_bytes", "Size in bytes of ready and unacknowledged messages"),
    _gauge("rabbitmq_queue_messages_ready_bytes", "Size in bytes of ready messages"),
    _gauge("rabbitmq_queue_messages_unacked_bytes", "Size in bytes of all unacknowledged messages"),
    _gauge("rabbitmq_queue_messages_paged_out", "Messages paged out to disk"),
    _gauge(
        "rabbitmq_queue_messages_paged_out_bytes", "Size in bytes of messages paged out to disk"
    ),
    _counter(
        "rabbitmq_queue_disk_reads_total", "Total number of times queue read messages from disk"
    ),
    _counter(
        "rabbitmq_queue_disk_writes_total", "Total number of times queue wrote messages to disk"
    ),
    Family(
        "rabbitmq_queue_messages_published_total",
        "counter",
        "Total number of messages published to queues",
        per_object=False,  # RabbitMQ's are per channel, exchange and queue
    ),
)
QUEUE_LABELS = ("vhost", "queue")

# Per channel: label channel.
CHANNEL = (
    _gauge("rabbitmq_channel_consumers", "Consumers on a channel"),
    _gauge("rabbitmq_channel_messages_unacked", "Delivered but not yet acknowledged messages"),
    _gauge("rabbitmq_channel_messages_unconfirmed", "Published but not yet confirmed messages"),
    _gauge(
        "rabbitmq_channel_messages_uncommitted",
        "Messages received in a transaction but not yet committed",
    ),
    _gauge(
        "rabbitmq_channel_acks_uncommitted",
        "Message acknowledgements in a transaction not yet committed",
    ),
    _gauge(
        "rabbitmq_channel_prefetch",
        "Total limit of unacknowledged messages for all consumers on a channel",
    ),
    _gauge("rabbitmq_consumer_prefetch", "Limit of unacknowledged messages for each consumer"),
    _channel_counter(
        "rabbitmq_channel_messages_published_total",
        "Total number of messages published into an exchange on a channel",
    ),
    _channel_counter(
        "rabbitmq_channel_messages_confirmed_total",
        "Total number of messages published into an exchange and confirmed on the channel",
    ),
    _channel_counter(
        "rabbitmq_channel_messages_unroutable_returned_total",
        "Total number of messages published as mandatory into an exchange and returned to "
        "the publisher as unroutable",
    ),
    _channel_counter(
        "rabbitmq_channel_messages_unroutable_dropped_total",
        "Total number of messages published as non-mandatory into an exchange and dropped "
        "as unroutable",
    ),
    _channel_counter(
        "rabbitmq_channel_get_ack_total",
        "Total number of messages fetched with basic.get in manual acknowledgement mode",
    ),
    _channel_counter(
        "rabbitmq_channel_get_total",
        "Total number of messages fetched with basic.get in automatic acknowledgement mode",
    ),
    _channel_counter(
        "rabbitmq_channel_messages_delivered_ack_total",
        "Total number of messages delivered to consumers in manual acknowledgement mode",
    ),
    _channel_counter(
        "rabbitmq_channel_messages_delivered_total",
        "Total number of messages delivered to consumers in automatic acknowledgement mode",
    ),
    _channel_counter(
        "rabbitmq_channel_messages_redelivered_total",
        "Total number of messages redelivered to consumers",
    ),
    _channel_counter(
        "rabbitmq_channel_messages_acked_total",
        "Total number of messages acknowledged by consumers",
    ),
    _channel_counter(
        "rabbitmq_channel_get_empty_total",
        "Total number of times basic.get operations fetched no message",
    ),
)
CHANNEL_LABELS = ("channel",)

# Per connection: RabbitMQ labels these with ``channel`` too (the connection's process).
CONNECTION = (
    _counter(
        "rabbitmq_connection_incoming_bytes_total", "Total number of bytes received on a connection"
    ),
    _counter(
        "rabbitmq_connection_outgoing_bytes_total", "Total number of bytes sent on a connection"
    ),
    _counter(
        "rabbitmq_connection_incoming_packets_total",
        "Total number of packets received on a connection",
    ),
    _counter(
        "rabbitmq_connection_outgoing_packets_total", "Total number of packets sent on a connection"
    ),
    _gauge(
        "rabbitmq_connection_pending_packets",
        "Number of packets waiting to be sent on a connection",
    ),
    _gauge("rabbitmq_connection_channels", "Channels on a connection"),
)
CONNECTION_LABELS = ("channel",)

# Every metric the public "RabbitMQ-Overview" Grafana dashboard (grafana.com 10991) queries.
OVERVIEW_DASHBOARD = (
    "rabbitmq_identity_info",
    "rabbitmq_build_info",
    "rabbitmq_queue_messages_ready",
    "rabbitmq_queue_messages_unacked",
    "rabbitmq_queues",
    "rabbitmq_queues_declared_total",
    "rabbitmq_queues_created_total",
    "rabbitmq_queues_deleted_total",
    "rabbitmq_connections",
    "rabbitmq_connections_opened_total",
    "rabbitmq_connections_closed_total",
    "rabbitmq_channels",
    "rabbitmq_channels_opened_total",
    "rabbitmq_channels_closed_total",
    "rabbitmq_channel_consumers",
    "rabbitmq_consumers",
    "rabbitmq_global_messages_received_total",
    "rabbitmq_global_messages_received_confirm_total",
    "rabbitmq_global_messages_confirmed_total",
    "rabbitmq_global_messages_routed_total",
    "rabbitmq_global_messages_unroutable_dropped_total",
    "rabbitmq_global_messages_unroutable_returned_total",
    "rabbitmq_global_messages_delivered_consume_auto_ack_total",
    "rabbitmq_global_messages_delivered_consume_manual_ack_total",
    "rabbitmq_global_messages_delivered_get_auto_ack_total",
    "rabbitmq_global_messages_delivered_get_manual_ack_total",
    "rabbitmq_global_messages_get_empty_total",
    "rabbitmq_global_messages_redelivered_total",
    "rabbitmq_global_messages_acknowledged_total",
    "rabbitmq_process_resident_memory_bytes",
    "rabbitmq_resident_memory_limit_bytes",
    "rabbitmq_disk_space_available_bytes",
    "rabbitmq_process_open_fds",
    "rabbitmq_process_max_fds",
    "rabbitmq_process_open_tcp_sockets",
    "rabbitmq_process_max_tcp_sockets",
)
