"""A virtual host: its exchanges, queues and bindings, and routing between them.

Declaring, binding and deleting follow RabbitMQ's rules and order, raising its reply texts
(checks in ``declaration_checks``, limits in ``limits``).  ``owner`` arguments identify the
connection that asks (exclusive queues); they are opaque to the core.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from amqpbroker.errors import CommandInvalid, NotFound, PreconditionFailed, ResourceLocked

from .arguments import text
from .dead_lettering import dead_letter_copy, is_cycle
from .declaration_checks import (
    DeclareGuard,
    check_alternate_argument,
    check_deletable_exchange,
    check_exchange_equivalence,
    check_not_default_exchange,
    check_queue_equivalence,
    check_quorum_properties,
    check_unreserved_name,
    server_generated_name,
    unknown_type_text,
    where,
)
from .exchanges import EXCHANGE_TYPES, Binding, Destination, Exchange, make_binding
from .journeys import JourneyRecorder, carry_on, record_gone, record_held
from .limits import NO_VHOST_LIMITS, VhostLimits
from .message import Envelope, Message
from .ports import Clock, HeaderRewriter, ManualClock, NullStore, Store, unchanged_header
from .queue import Queue
from .queue_arguments import validate_queue_arguments
from .queue_policy import PolicyBook
from .queue_types import queue_class
from .sampler import Sample
from .stats import CHANNEL_FIELDS, BrokerStats

DEFAULT_EXCHANGES = {
    "amq.direct": "direct",
    "amq.fanout": "fanout",
    "amq.topic": "topic",
    "amq.headers": "headers",
    "amq.match": "headers",
    "amq.rabbitmq.trace": "topic",  # internal: only the (future) firehose tracer publishes
}


class VirtualHost:
    """Exchanges, queues and bindings of one vhost."""

    def __init__(
        self, name: str, store: Store[Message] | None = None, clock: Clock | None = None
    ) -> None:
        self.name = name
        # RabbitMQ's vhost metadata: shown and exported, no effect on routing.
        self.description = ""
        self.tags: tuple[str, ...] = ()
        self.store: Store[Message] = store or NullStore()
        self.clock: Clock = clock or ManualClock()
        self.rewrite_dead_letter: HeaderRewriter = unchanged_header
        self.stats = BrokerStats()  # the broker's (``BrokerState`` sets it): churn, totals
        # What this vhost's closed channels counted (CHANNEL_FIELDS order), and the rates of
        # its message_stats (its channels' sums).
        self.retired = [0] * len(CHANNEL_FIELDS)
        self.sample = Sample(len(CHANNEL_FIELDS), None)
        self.recv_oct = self.send_oct = 0  # what its closed connections received and sent
        self.policy_book = PolicyBook()  # (``core.policy_changes`` applies a new one)
        self.tracing = False  # firehose and journeys: ``journeys.switch_tracing``
        self.limits: VhostLimits = NO_VHOST_LIMITS  # read when its vhost-limits change
        self.open_connections = 0  # (its max-connections: the session counts)
        self.journeys = JourneyRecorder(name, self.clock)
        self.exchanges: dict[str, Exchange] = {}
        self.queues: dict[str, Queue] = {}
        self.exchanges[""] = EXCHANGE_TYPES["direct"]("", name, durable=True)
        for ex_name, ex_type in DEFAULT_EXCHANGES.items():
            self.exchanges[ex_name] = EXCHANGE_TYPES[ex_type](
                ex_name, name, durable=True, internal=ex_name == "amq.rabbitmq.trace"
            )

    # -- lookups --------------------------------------------------------------------------------

    def _where(self, kind: str, name: str) -> str:
        return where(kind, name, self.name)

    def exchange(self, name: str) -> Exchange:
        try:
            return self.exchanges[name]
        except KeyError:
            raise NotFound(f"no {self._where('exchange', name)}") from None

    def queue(self, name: str, owner: object | None = None) -> Queue:
        """The queue, checking exclusive ownership when ``owner`` is given."""
        try:
            queue = self.queues[name]
        except KeyError:
            raise NotFound(f"no {self._where('queue', name)}") from None
        if owner is not None:
            self.check_exclusive(queue, owner)
        return queue

    def check_exclusive(self, queue: Queue, owner: object) -> None:
        if queue.exclusive_owner is not None and queue.exclusive_owner is not owner:
            self.raise_locked(queue)

    def raise_locked(self, queue: Queue) -> None:
        raise ResourceLocked(
            f"cannot obtain exclusive access to locked {self._where('queue', queue.name)}."
            " It could be originally declared on another connection or the exclusive"
            " property value does not match that of the original declaration."
        )

    # -- exchanges ------------------------------------------------------------------------------

    def declare_exchange(
        self,
        name: str,
        type_name: str,
        *,
        passive: bool,
        durable: bool,
        auto_delete: bool,
        internal: bool,
        arguments: dict[str, Any],
        guard: DeclareGuard | None = None,
    ) -> Exchange:
        # RabbitMQ's order: type (unless passive), default exchange, the guard's ``named``,
        # then for a new one: reserved name, alternate-exchange type, the guard's ``creating``.
        cls = EXCHANGE_TYPES.get(type_name)
        if cls is None and not passive:
            raise CommandInvalid(unknown_type_text(type_name))
        check_not_default_exchange(name)
        if passive or cls is None:
            return self.exchange(name)
        if guard is not None:
            guard.named(name)
        existing = self.exchanges.get(name)
        if existing is None:
            check_unreserved_name("exchange", name)
        else:
            check_exchange_equivalence(
                existing,
                type_name,
                durable,
                auto_delete,
                internal,
                arguments,
                self._where("exchange", name),
            )
            return existing
        check_alternate_argument(arguments, self._where("exchange", name))
        if guard is not None:
            guard.creating(name, arguments)
        exchange = cls(
            name,
            self.name,
            durable=durable,
            auto_delete=auto_delete,
            internal=internal,
            arguments=arguments,
        )
        exchange.apply_policy(self.policy_book.applied(name, "exchange"))
        self.exchanges[name] = exchange
        if exchange.durable:
            self.store.exchange_declared(exchange)
        return exchange

    def delete_exchange(self, name: str, *, if_unused: bool) -> None:
        check_deletable_exchange(name, self.name)
        exchange = self.exchanges.get(name)
        if exchange is None:
            return
        if if_unused and exchange.bindings:
            raise PreconditionFailed(f"{self._where('exchange', name)} in use")
        self._remove_exchange(exchange)

    def _remove_exchange(self, exchange: Exchange) -> None:
        del self.exchanges[exchange.name]
        if exchange.durable:
            self.store.exchange_deleted(exchange)  # its bindings go with it
        exchange.bindings.clear()
        # drop bindings where this exchange is the destination
        for source in list(self.exchanges.values()):
            for binding in source.bindings_to(exchange):
                self._unbind(source, binding)

    # -- queues ---------------------------------------------------------------------------------

    def declare_queue(
        self,
        name: str,
        *,
        passive: bool,
        durable: bool,
        exclusive: bool,
        auto_delete: bool,
        arguments: dict[str, Any],
        owner: object,
        guard: DeclareGuard | None = None,
    ) -> Queue:
        """Declare a queue, RabbitMQ's checks in its order: name (reserved prefix, or a
        server-generated one), the guard's ``named``, then for an existing queue exclusive
        use and equivalence; for a new one the guard's ``creating`` and the arguments."""
        if passive:  # (not counted as declared, as in RabbitMQ)
            queue = self.queue(name, owner)
            queue.touch()  # a redeclare, even passive, counts as use for x-expires
            return queue
        quorum = text(arguments.get("x-queue-type")) == "quorum"
        if not name:
            if quorum:
                raise PreconditionFailed(
                    "Cannot declare a server-named queue for type rabbit_quorum_queue"
                )
            name = server_generated_name("amq.gen-")
        else:
            check_unreserved_name("queue", name)  # even when it exists (amq.gen-...)
        if guard is not None:
            guard.named(name)
        durable = durable and not exclusive  # exclusive queues are never durable
        existing = self.queues.get(name)
        if existing is not None:
            self.check_exclusive(existing, owner)
            if existing.exclusive != exclusive:
                self.raise_locked(existing)
            check_queue_equivalence(
                existing, durable, auto_delete, arguments, self._where("queue", name)
            )
            existing.touch()
            self.stats.queue_declared += 1
            return existing
        if guard is not None:
            guard.creating(name, arguments)
        validate_queue_arguments(arguments, name, self.name)
        if quorum:
            check_quorum_properties(self._where("queue", name), durable, exclusive, auto_delete)
        self.limits.check_new_queue(self.name, name, len(self.queues))
        queue = self._add_queue(
            name,
            durable=durable,
            exclusive_owner=owner if exclusive else None,
            auto_delete=auto_delete,
            arguments=arguments,
        )
        if queue.durable:
            self.store.queue_declared(queue)
        self.stats.queue_created += 1
        self.stats.queue_declared += 1
        return queue

    def restore_queue(self, name: str, *, auto_delete: bool, arguments: dict[str, Any]) -> Queue:
        """A durable queue read back from the store at start-up.  No declaration checks (it
        passed them when declared) and nothing recorded (the store holds it already)."""
        return self._add_queue(
            name, durable=True, exclusive_owner=None, auto_delete=auto_delete, arguments=arguments
        )

    def _add_queue(
        self,
        name: str,
        *,
        durable: bool,
        exclusive_owner: object | None,
        auto_delete: bool,
        arguments: dict[str, Any],
    ) -> Queue:
        """Make the queue, wired to this vhost (dead-lettering, x-expires), and add it."""
        queue = queue_class(arguments)(
            name,
            self.name,
            durable=durable,
            exclusive_owner=exclusive_owner,
            auto_delete=auto_delete,
            arguments=arguments,
            store=self.store,
            clock=self.clock,
        )
        queue.dead_letter = self.dead_letter
        queue.on_expired = self.remove_queue
        queue.apply_policy(self.policy_book.applied(name, queue.policy_kind))
        self.queues[name] = queue
        return queue

    def queue_to_delete(
        self, name: str, *, if_unused: bool, if_empty: bool, owner: object
    ) -> Queue | None:
        """Check a queue.delete (None when there is no such queue: not an error)."""
        queue = self.queues.get(name)
        if queue is None:
            return None
        self.check_exclusive(queue, owner)
        if if_unused and queue.consumers:
            raise PreconditionFailed(f"{self._where('queue', name)} in use")
        if if_empty and queue.message_count:
            raise PreconditionFailed(f"{self._where('queue', name)} not empty")
        return queue

    def remove_queue(self, queue: Queue) -> None:
        """Delete a queue: its bindings go, its consumers are cancelled."""
        if self.queues.get(queue.name) is not queue:
            return
        del self.queues[queue.name]
        queue.deleted = True
        for source in list(self.exchanges.values()):
            for binding in source.bindings_to(queue):
                self._unbind(source, binding)
        for consumer in list(queue.consumers):
            queue.remove_consumer(consumer)
            consumer.sink.consumer_cancelled(consumer)
        if self.tracing:
            record_held("queue_deleted", queue)
        queue.purge()
        if queue.durable:
            self.store.queue_deleted(queue)
        self.stats.queue_deleted_with(queue)

    def purge_queue(self, name: str, owner: object) -> int:
        queue = self.queue(name, owner)
        if self.tracing:
            record_held("purged", queue)
        return queue.purge()

    def connection_closed(self, owner: object) -> None:
        """Exclusive queues die with the connection that declared them."""
        for queue in [q for q in self.queues.values() if q.exclusive_owner is owner]:
            self.remove_queue(queue)

    def consumer_removed(self, queue: Queue) -> None:
        """After a consumer left: auto-delete queues go with their last consumer."""
        if queue.auto_delete and queue.had_consumers and not queue.consumers:
            self.remove_queue(queue)

    def forget_transient(self) -> None:
        """A restart: non-durable queues, exchanges and bindings to them go; durable queues
        lose what is only in memory (``Queue.restarted``); nothing is auto-deleted."""
        for queue in [q for q in self.queues.values() if not q.durable]:
            del self.queues[queue.name]
            queue.deleted = True
            queue.purge()
        for exchange in [x for x in self.exchanges.values() if not x.durable]:
            del self.exchanges[exchange.name]
        for source in self.exchanges.values():
            for binding in [b for b in source.bindings.values() if not b.destination.durable]:
                source.remove_binding(binding)
        for queue in self.queues.values():
            queue.restarted()

    # -- bindings -------------------------------------------------------------------------------

    def bindable_source(self, name: str) -> Exchange:
        check_not_default_exchange(name)
        return self.exchange(name)

    def bind(
        self,
        source_name: str,
        destination: Destination,
        routing_key: str,
        arguments: dict[str, Any],
    ) -> None:
        source = self.bindable_source(source_name)
        source.validate_binding(arguments)
        binding = make_binding(source_name, destination, routing_key, arguments)
        if source.add_binding(binding) and source.durable and destination.durable:
            self.store.binding_added(binding)

    def unbind(
        self,
        source_name: str,
        destination: Destination,
        routing_key: str,
        arguments: dict[str, Any],
        owner: object | None = None,
    ) -> None:
        """Removing a binding that does not exist (or whose ends do not) is not an error."""
        check_not_default_exchange(source_name)
        source = self.exchanges.get(source_name)
        if source is None:
            return
        binding = make_binding(source_name, destination, routing_key, arguments)
        existing = source.bindings.get(binding.key)
        if existing is not None:
            if owner is not None and isinstance(destination, Queue):
                self.check_exclusive(destination, owner)
            self._unbind(source, existing)

    def _unbind(self, source: Exchange, binding: Binding) -> None:
        source.remove_binding(binding)
        if source.durable and binding.destination.durable:
            self.store.binding_removed(binding)
        if source.auto_delete and not source.bindings and source.name in self.exchanges:
            self._remove_exchange(source)

    # -- the vhost itself -----------------------------------------------------------------------

    def delete_contents(self) -> None:
        """The vhost goes: its queues (consumers cancelled), then its exchanges."""
        for queue in list(self.queues.values()):
            self.remove_queue(queue)
        for name, exchange in list(self.exchanges.items()):
            if name in self.exchanges and name != "" and name not in DEFAULT_EXCHANGES:
                self._remove_exchange(exchange)
        self.exchanges.clear()

    # -- dead-lettering ------------------------------------------------------------------------

    def dead_letter(self, queue: Queue, envelopes: list[Envelope], reason: str) -> None:
        """Republish messages that died in ``queue`` to its dead-letter exchange, if any,
        with x-death recording why; cycles that no client broke are dropped, as RabbitMQ."""
        exchange_name = queue.settings.dead_letter_exchange
        exchange = self.exchanges.get(exchange_name) if exchange_name is not None else None
        if exchange is None:
            if self.tracing:  # (a message refused at the door, seq 0, was told so already)
                record_gone(queue.name, [e.message for e in envelopes if e.seq], reason)
            return
        fixed_key = queue.settings.dead_letter_routing_key
        now = int(self.clock.wall())
        for envelope in envelopes:
            message = dead_letter_copy(
                envelope.message,
                self.rewrite_dead_letter,
                queue=queue.name,
                reason=reason,
                exchange=exchange.name,
                fixed_key=fixed_key,
                now=now,
            )
            targets = self.route(exchange, message.routing_key, message)
            if reason != "rejected":
                deaths = message.headers.get("x-death")
                targets = [q for q in targets if not is_cycle(q.name, deaths)]
            if self.tracing:
                carry_on(envelope.message, message, queue.name, reason, targets)
            for target in targets:
                target.counters.dead_lettered_in += 1  # (not a publish: core.stats)
                target.enqueue(message)

    # -- routing --------------------------------------------------------------------------------

    def route(self, exchange: Exchange, routing_key: str, message: Message) -> list[Queue]:
        """Every queue the message reaches, once each, as RabbitMQ routes: each exchange on
        the way matches all the message's keys (the routing key, then its CC and BCC keys)
        against its bindings, follows exchange-to-exchange bindings, and hands the message
        to its alternate-exchange when none of the keys matched anything."""
        if not message.sender_keys:
            if exchange.name == "":  # the default exchange: bound to every queue by name
                queue = self.queues.get(routing_key)
                return [queue] if queue is not None else []
            if not exchange.bindings and exchange.alternate is None:
                return []
        keys = (routing_key, *message.sender_keys)
        queues: dict[int, Queue] = {}
        pending = [exchange]
        seen = {exchange.name}
        while pending:
            current = pending.pop()
            destinations = self._destinations(current, keys, message)
            if destinations:
                self._collect(destinations, queues, pending, seen)
                continue
            alternate = self._alternate(current)
            if alternate is not None and alternate.name not in seen:
                seen.add(alternate.name)
                pending.append(alternate)
        return list(queues.values())

    def _destinations(
        self, exchange: Exchange, keys: tuple[str, ...], message: Message
    ) -> Collection[Destination]:
        """What ``exchange``'s bindings match for any of ``keys``."""
        if exchange.name == "":
            return [queue for key in keys if (queue := self.queues.get(key)) is not None]
        if len(keys) == 1:
            return exchange.route(keys[0], message)
        out: list[Destination] = []
        for key in keys:
            out.extend(exchange.route(key, message))
        return out

    def _alternate(self, exchange: Exchange) -> Exchange | None:
        """The alternate-exchange of ``exchange`` if it names one that exists (the default
        exchange never serves as one)."""
        name = exchange.alternate
        return self.exchanges.get(name) if name else None

    @staticmethod
    def _collect(
        destinations: Collection[Destination],
        queues: dict[int, Queue],
        pending: list[Exchange],
        seen: set[str],
    ) -> None:
        for destination in destinations:
            if isinstance(destination, Queue):
                queues[id(destination)] = destination
            elif destination.name not in seen:
                seen.add(destination.name)
                pending.append(destination)
