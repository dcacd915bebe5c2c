"""What each ``list_*`` command lists: the API path, rabbitmqctl's banner, its default and
accepted columns (RabbitMQ's info keys), and how a column is read from the API's object.

Columns that name an Erlang process (``pid``, ``owner_pid``, ``slave_pids``...) have no
counterpart here: ``pid`` of a connection or channel is its name (what ``close_connection``
takes), the others are empty."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from amqpbroker.api_client.settings import vhost_segment

Reader = Callable[[dict[str, Any]], Any]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _key(*path: str) -> Reader:
    def read(item: dict[str, Any]) -> Any:
        value: Any = item
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        return value

    return read


def _empty(_item: dict[str, Any]) -> Any:
    return None


def _policy(item: dict[str, Any]) -> Any:
    return item.get("policy") or None


def _tags(item: dict[str, Any]) -> Any:
    tags = item.get("tags", [])
    return [tag for tag in tags.split(",") if tag] if isinstance(tags, str) else tags


def _protocol(item: dict[str, Any]) -> Any:
    """``AMQP 0-9-1`` -> ``(0, 9, 1)``, shown ``{0,9,1}`` as rabbitmqctl shows it."""
    version = str(item.get("protocol", "")).rpartition(" ")[2].split("-")
    return tuple(int(part) for part in version) if all(p.isdigit() for p in version) else None


@dataclass(frozen=True)
class Listing:
    banner: str  # formatted with vhost=
    path: str  # formatted with vhost= (percent-encoded)
    default_columns: tuple[str, ...]
    columns: tuple[str, ...]
    readers: dict[str, Reader] = field(default_factory=dict)
    empty_line_when_none: bool = False  # list_policies prints a blank line for no rows

    def read(self, item: dict[str, Any], column: str) -> Any:
        return self.readers.get(column, _key(column))(item)

    def api_path(self, vhost: str) -> str:
        return self.path.format(vhost=vhost_segment(vhost))


_QUEUE_PIDS = ("pid", "owner_pid", "slave_pids", "synchronised_slave_pids", "leader", "members")
QUEUES = Listing(
    banner="Timeout: 60.0 seconds ...\nListing queues for vhost {vhost} ...",
    path="/queues/{vhost}",
    default_columns=("name", "messages"),
    columns=_words(
        "arguments auto_delete consumer_capacity consumer_utilisation consumers disk_reads"
        " disk_writes durable exclusive exclusive_consumer_pid exclusive_consumer_tag"
        " head_message_timestamp leader members memory message_bytes message_bytes_persistent"
        " message_bytes_ram message_bytes_ready message_bytes_unacknowledged messages"
        " messages_persistent messages_ram messages_ready messages_ready_ram"
        " messages_unacknowledged messages_unacknowledged_ram name online owner_pid pid policy"
        " slave_pids state synchronised_slave_pids type"
    ),
    readers={
        "policy": _policy,
        "exclusive_consumer_tag": _key("exclusive_consumer_tag"),
        "exclusive_consumer_pid": _empty,
        "online": _empty,
        **dict.fromkeys(_QUEUE_PIDS, _empty),
    },
)
EXCHANGES = Listing(
    banner="Listing exchanges for vhost {vhost} ...",
    path="/exchanges/{vhost}",
    default_columns=("name", "type"),
    columns=("arguments", "auto_delete", "durable", "internal", "name", "policy", "type"),
    readers={"policy": _policy},
)
BINDINGS = Listing(
    banner="Listing bindings for vhost {vhost}...",
    path="/bindings/{vhost}",
    default_columns=(
        "source_name",
        "source_kind",
        "destination_name",
        "destination_kind",
        "routing_key",
        "arguments",
    ),
    columns=(
        "arguments",
        "destination_kind",
        "destination_name",
        "routing_key",
        "source_kind",
        "source_name",
    ),
    readers={
        "source_name": _key("source"),
        "source_kind": lambda _item: "exchange",
        "destination_name": _key("destination"),
        "destination_kind": _key("destination_type"),
    },
)
CONNECTIONS = Listing(
    banner="Listing connections ...",
    path="/connections",
    default_columns=("user", "peer_host", "peer_port", "state"),
    columns=_words(
        "auth_mechanism channel_max channels client_properties connected_at frame_max host name"
        " peer_cert_issuer peer_cert_subject peer_cert_validity peer_host peer_port pid port"
        " protocol recv_cnt recv_oct send_cnt send_oct send_pend ssl ssl_cipher ssl_hash"
        " ssl_key_exchange ssl_protocol state timeout user vhost"
    ),
    readers={"pid": _key("name"), "protocol": _protocol},
)
CHANNELS = Listing(
    banner="Listing channels ...",
    path="/channels",
    default_columns=("pid", "user", "consumer_count", "messages_unacknowledged"),
    columns=_words(
        "acks_uncommitted confirm connection consumer_count global_prefetch_count"
        " messages_unacknowledged messages_uncommitted messages_unconfirmed name number pid"
        " prefetch_count transactional user vhost"
    ),
    readers={"pid": _key("name"), "connection": _key("connection_details", "name")},
)
CONSUMERS = Listing(
    banner="Listing consumers in vhost {vhost} ...",
    path="/consumers/{vhost}",
    default_columns=(
        "queue_name",
        "channel_pid",
        "consumer_tag",
        "ack_required",
        "prefetch_count",
        "active",
        "arguments",
    ),
    columns=_words(
        "ack_required active activity_status arguments channel_pid consumer_tag"
        " prefetch_count queue_name"
    ),
    readers={"queue_name": _key("queue", "name"), "channel_pid": _key("channel_details", "name")},
)
VHOSTS = Listing(
    banner="Listing vhosts ...",
    path="/vhosts",
    default_columns=("name",),
    columns=(
        "cluster_state",
        "default_queue_type",
        "description",
        "metadata",
        "name",
        "tags",
        "tracing",
    ),
    readers={"tags": _tags, "cluster_state": _empty},
)
USERS = Listing(
    banner="Listing users ...",
    path="/users",
    default_columns=("user", "tags"),
    columns=("user", "tags"),
    readers={"user": _key("name"), "tags": _tags},
)
PERMISSIONS = Listing(
    banner='Listing permissions for vhost "{vhost}" ...',
    path="/vhosts/{vhost}/permissions",
    default_columns=("user", "configure", "write", "read"),
    columns=("user", "configure", "write", "read"),
)
_POLICY_COLUMNS = ("vhost", "name", "pattern", "apply-to", "definition", "priority")
POLICIES = Listing(
    banner='Listing policies for vhost "{vhost}" ...',
    path="/policies/{vhost}",
    default_columns=_POLICY_COLUMNS,
    columns=_POLICY_COLUMNS,
    empty_line_when_none=True,
)
OPERATOR_POLICIES = Listing(
    banner='Listing operator policy overrides for vhost "{vhost}" ...',
    path="/operator-policies/{vhost}",
    default_columns=_POLICY_COLUMNS,
    columns=_POLICY_COLUMNS,
    empty_line_when_none=True,
)

LISTINGS: dict[str, Listing] = {
    "list_queues": QUEUES,
    "list_exchanges": EXCHANGES,
    "list_bindings": BINDINGS,
    "list_connections": CONNECTIONS,
    "list_channels": CHANNELS,
    "list_consumers": CONSUMERS,
    "list_vhosts": VHOSTS,
    "list_users": USERS,
    "list_permissions": PERMISSIONS,
    "list_policies": POLICIES,
    "list_operator_policies": OPERATOR_POLICIES,
}
