"""A scrape as pieces of Prometheus text (format 0.0.4, written by ``prometheus_client``),
with pauses between them where the loop may be given back.

``scrape_pieces`` yields ``str`` (text to send) or ``None`` (a point where the caller may
pause).  Families whose samples are all one kind of object (a queue, a channel, a
connection) are read first into rows, a few hundred objects between two pauses, then
written a family at a time, ``SAMPLES_PER_PIECE`` samples a piece: a family's samples stay
together, as the format requires, and no piece holds the loop long.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from prometheus_client.core import Metric
from prometheus_client.exposition import generate_latest

from amqpbroker.management.broker import ManagedBroker
from amqpbroker.management.views.context import UnackedIndex

from . import families
from .alarms import alarm_states, watermarks
from .readings import (
    PROTOCOL,
    GlobalTotals,
    Row,
    all_queues,
    auth_attempts,
    build_labels,
    channel_row,
    connection_row,
    identity_labels,
    open_sessions,
    process_figures,
    queue_rows,
)

CONTENT_TYPE = "text/plain; version=0.0.4"
OBJECTS_PER_PAUSE = 200
SAMPLES_PER_PIECE = 500

Piece = str | None


class _Families:
    """What ``generate_latest`` reads: a registry's ``collect``."""

    def __init__(self, metrics: Iterable[Metric]) -> None:
        self._metrics = list(metrics)

    def collect(self) -> list[Metric]:
        return self._metrics


def text_of(metrics: Iterable[Metric]) -> str:
    return generate_latest(_Families(metrics)).decode()


def _samples_only(text: str) -> str:
    """A family's text without its ``# HELP`` and ``# TYPE`` lines."""
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))


def scrape_pieces(broker: ManagedBroker, node: str, *, per_object: bool) -> Iterator[Piece]:
    """The whole scrape: ``/metrics`` (``per_object`` False: one sample a family) or
    ``/metrics/per-object``."""
    sessions = open_sessions(broker)
    # The totals in one step, with no pause: a channel that closed in a pause would move
    # its counts into ``retired`` unseen, and a counter must never go down.
    totals = GlobalTotals(broker.state.stats.retired)
    for session, _ in sessions:
        for channel in session.channels.values():
            totals.add_channel(channel.message_counts())
    yield None
    channel_rows: list[Row] = []
    connection_rows: list[Row] = []
    for index, (session, name) in enumerate(sessions):
        connection_rows.append(connection_row(session, name))
        for number in sorted(session.channels):
            channel = session.channels[number]
            counts = channel.message_counts()
            channel_rows.append(channel_row(channel, f"{name} ({number})", counts))
        if index % OBJECTS_PER_PAUSE == OBJECTS_PER_PAUSE - 1:
            yield None
    queues = all_queues(broker)
    unacked = UnackedIndex(session for session, _ in sessions)
    yield None
    rows: list[Row] = []
    for row in queue_rows(queues, unacked):
        rows.append(row)
        if len(rows) % OBJECTS_PER_PAUSE == 0:
            yield None
    object_counts = {
        "connections": len(sessions),
        "channels": len(channel_rows),
        "consumers": sum(row[1][0] for row in channel_rows),
        "queues": len(queues),
    }
    yield text_of(_node_families(broker, node, totals, object_counts, per_object=per_object))
    yield from _object_families(families.QUEUE, families.QUEUE_LABELS, rows, per_object)
    yield from _object_families(families.CHANNEL, families.CHANNEL_LABELS, channel_rows, per_object)
    yield from _object_families(
        families.CONNECTION, families.CONNECTION_LABELS, connection_rows, per_object
    )


def _node_families(
    broker: ManagedBroker,
    node: str,
    totals: GlobalTotals,
    counts: dict[str, int],
    *,
    per_object: bool,
) -> Iterator[Metric]:
    """The node's one-sample families: identity, build, churn, object counts (``counts``,
    ``families.OBJECT_COUNTS``' keys), process, alarms (in /metrics only), login attempts
    and the global counters."""
    for family, labels in (
        (families.IDENTITY, identity_labels(broker, node)),
        (families.BUILD, build_labels()),
    ):
        metric = family.metric(tuple(labels))
        metric.add_metric(list(labels.values()), 1)
        yield metric
    churn = broker.state.stats
    yield from _single(families.CHURN, {key: getattr(churn, key) for key in families.CHURN})
    yield from _single(families.OBJECT_COUNTS, counts)
    yield from _single(families.PROCESS, process_figures(broker, *watermarks(broker)))
    if not per_object:
        yield from _single(families.ALARMS, alarm_states(broker))
    yield from _labelled(families.AUTH_ATTEMPTS, auth_attempts(broker), ("protocol",), (PROTOCOL,))
    yield from _labelled(
        families.GLOBAL_BY_PROTOCOL,
        totals.by_protocol(counts["consumers"]),
        ("protocol",),
        (PROTOCOL,),
    )
    by_type = totals.by_queue_type()
    for family_key, family in families.GLOBAL_BY_QUEUE_TYPE.items():
        metric = family.metric(("protocol", "queue_type"))
        for queue_type in families.QUEUE_TYPES:
            value = by_type[family_key] if queue_type == families.QUEUE_TYPES[0] else 0
            metric.add_metric([PROTOCOL, queue_type], value)
        yield metric


def _single(specs: dict[str, families.Family], values: dict[str, int]) -> Iterator[Metric]:
    for key, family in specs.items():
        metric = family.metric()
        metric.add_metric([], values[key])
        yield metric


def _labelled(
    specs: dict[str, families.Family],
    values: dict[str, int],
    names: tuple[str, ...],
    labels: tuple[str, ...],
) -> Iterator[Metric]:
    for key, family in specs.items():
        metric = family.metric(names)
        metric.add_metric(list(labels), values[key])
        yield metric


def _object_families(
    specs: Sequence[families.Family], labels: tuple[str, ...], rows: list[Row], per_object: bool
) -> Iterator[Piece]:
    """Each of ``specs`` over ``rows``: one summed sample each, or one sample a row."""
    if not per_object:
        sums = [0] * len(specs)
        for index, (_, values) in enumerate(rows):
            for position, value in enumerate(values):
                sums[position] += value
            if index % SAMPLES_PER_PIECE == 0:
                yield None
        metrics = []
        for family, total in zip(specs, sums, strict=True):
            metric = family.metric()
            metric.add_metric([], total)
            metrics.append(metric)
        yield text_of(metrics)
        return
    for position, family in enumerate(specs):
        if family.per_object:
            yield from _family_pieces(family, labels, rows, position)


def _family_pieces(
    family: families.Family, labels: tuple[str, ...], rows: list[Row], position: int
) -> Iterator[Piece]:
    """One family, a sample a row, ``SAMPLES_PER_PIECE`` a piece (header in the first)."""
    if not rows:
        yield text_of([family.metric(labels)])
        return
    for start in range(0, len(rows), SAMPLES_PER_PIECE):
        metric = family.metric(labels)
        for label_values, values in rows[start : start + SAMPLES_PER_PIECE]:
            metric.add_metric(list(label_values), values[position])
        text = text_of([metric])
        yield text if start == 0 else _samples_only(text)
        yield None
