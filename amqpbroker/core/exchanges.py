"""Exchanges and their bindings.

Every exchange type implements the same small interface: ``add_binding``, ``remove_binding``
and ``route(routing_key, message)`` returning the destinations (queues or exchanges) its
bindings select.  A binding is identified, as in RabbitMQ, by (destination, routing key,
arguments); the vhost resolves exchange-to-exchange chains and deduplicates queues.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

from amqpbroker.errors import PreconditionFailed
from amqpbroker.policies.model import Applied

from .arguments import freeze, render, text, type_name
from .message import Message
from .queue_policy import NO_POLICY, alternate_under
from .sampler import Sample
from .topic import TopicTrie

if TYPE_CHECKING:
    from .queue import Queue

Destination = Union["Queue", "Exchange"]


@dataclass(frozen=True, slots=True)
class Binding:
    """source --routing_key/arguments--> destination."""

    source: str
    destination: Destination
    routing_key: str
    arguments: Any  # frozen (hashable) form of the binding arguments
    raw_arguments: Any = None

    @property
    def key(self) -> tuple[int, str, Any]:
        return (id(self.destination), self.routing_key, self.arguments)


class Exchange:
    """Base exchange: holds bindings; subclasses index them for routing."""

    type_name = ""

    def __init__(
        self,
        name: str,
        vhost: str,
        *,
        durable: bool = False,
        auto_delete: bool = False,
        internal: bool = False,
        arguments: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.vhost = vhost
        self.durable = durable
        self.auto_delete = auto_delete
        self.internal = internal
        self.arguments = arguments or {}
        self.policy: Applied = NO_POLICY  # the policy and operator policy applied, merged
        self.alternate = alternate_under(self.arguments, {})  # (its argument, else a policy's)
        self.bindings: dict[tuple[int, str, Any], Binding] = {}
        # Statistics (core.stats): publish_in counted per message, publish_out derived.
        self.publish_in = 0
        self.unroutable = 0  # of those, routed nowhere
        self.extra_out = 0  # the queues beyond the first of multi-queue routes
        self.sample = Sample(2, None)

    @property
    def publish_out(self) -> int:
        """Messages routed out of this exchange, one per queue reached (RabbitMQ's
        ``publish_out``)."""
        return self.publish_in - self.unroutable + self.extra_out

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} in {self.vhost!r}>"

    def apply_policy(self, applied: Applied) -> None:
        self.policy = applied
        self.alternate = alternate_under(self.arguments, applied.definition)

    def add_binding(self, binding: Binding) -> bool:
        """Add; False when an identical binding exists."""
        if binding.key in self.bindings:
            return False
        self.bindings[binding.key] = binding
        self._index(binding)
        return True

    def remove_binding(self, binding: Binding) -> bool:
        existing = self.bindings.pop(binding.key, None)
        if existing is None:
            return False
        self._unindex(existing)
        return True

    def bindings_to(self, destination: Destination) -> list[Binding]:
        return [b for b in self.bindings.values() if b.destination is destination]

    def route(self, routing_key: str, message: Message) -> Collection[Destination]:
        raise NotImplementedError

    def validate_binding(self, arguments: dict[str, Any]) -> None:
        """Raise PreconditionFailed for binding arguments this type rejects."""

    def _index(self, binding: Binding) -> None:
        raise NotImplementedError

    def _unindex(self, binding: Binding) -> None:
        raise NotImplementedError


# Direct and fanout exchanges route to the keys of a dict of destinations, each counting the
# bindings that select it there (one destination may be bound several times, with different
# arguments): it leaves the dict with the last of them.


def _count_in(targets: dict[Destination, int], destination: Destination) -> None:
    targets[destination] = targets.get(destination, 0) + 1


def _count_out(targets: dict[Destination, int], destination: Destination) -> None:
    count = targets[destination] - 1
    if count:
        targets[destination] = count
    else:
        del targets[destination]


class DirectExchange(Exchange):
    type_name = "direct"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._by_key: dict[str, dict[Destination, int]] = {}

    def route(self, routing_key: str, message: Message) -> Collection[Destination]:
        return self._by_key.get(routing_key, ())

    def _index(self, binding: Binding) -> None:
        _count_in(self._by_key.setdefault(binding.routing_key, {}), binding.destination)

    def _unindex(self, binding: Binding) -> None:
        targets = self._by_key[binding.routing_key]
        _count_out(targets, binding.destination)
        if not targets:
            del self._by_key[binding.routing_key]


class FanoutExchange(Exchange):
    type_name = "fanout"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._targets: dict[Destination, int] = {}

    def route(self, routing_key: str, message: Message) -> Collection[Destination]:
        return self._targets

    def _index(self, binding: Binding) -> None:
        _count_in(self._targets, binding.destination)

    def _unindex(self, binding: Binding) -> None:
        _count_out(self._targets, binding.destination)


class TopicExchange(Exchange):
    type_name = "topic"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._trie: TopicTrie[Destination] = TopicTrie()

    def route(self, routing_key: str, message: Message) -> Collection[Destination]:
        return self._trie.match(routing_key)

    def _index(self, binding: Binding) -> None:
        self._trie.add(binding.routing_key, binding.destination)

    def _unindex(self, binding: Binding) -> None:
        self._trie.remove(binding.routing_key, binding.destination)


class HeadersExchange(Exchange):
    """Matches message headers against binding arguments (x-match all/any)."""

    type_name = "headers"

    def route(self, routing_key: str, message: Message) -> Collection[Destination]:
        if not self.bindings:
            return ()
        headers = message.headers
        return {
            b.destination
            for b in self.bindings.values()
            if headers_match(b.raw_arguments or {}, headers)
        }

    def validate_binding(self, arguments: dict[str, Any]) -> None:
        if "x-match" not in arguments:
            return
        mode = text(arguments["x-match"])
        if mode is None:
            raise PreconditionFailed(
                f"Invalid x-match field type {type_name(arguments, 'x-match')} "
                f"(value {render(arguments['x-match'])}); expected longstr"
            )
        if mode not in X_MATCH_MODES:
            raise PreconditionFailed(
                f'Invalid x-match field value <<"{mode}">>; expected '
                "all, any, all-with-x, or any-with-x"
            )

    def _index(self, binding: Binding) -> None:
        pass

    def _unindex(self, binding: Binding) -> None:
        pass


X_MATCH_MODES = ("all", "any", "all-with-x", "any-with-x")


def field_equal(left: Any, right: Any) -> bool:
    """Equality as Erlang's == sees AMQP values: booleans never equal numbers."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    return bool(left == right)


def headers_match(binding_args: dict[str, Any], headers: dict[str, Any]) -> bool:
    """RabbitMQ's rules: x- keys in the binding are not matched; void values match presence."""
    mode = text(binding_args.get("x-match", "all"))
    wanted = {k: v for k, v in binding_args.items() if not k.startswith("x-")}
    with_x = mode in ("all-with-x", "any-with-x")
    if with_x:
        wanted = {k: v for k, v in binding_args.items() if k != "x-match"}
    candidates = headers if with_x else {k: v for k, v in headers.items() if not k.startswith("x-")}

    def matches(key: str, value: Any) -> bool:
        return key in candidates and (value is None or field_equal(candidates[key], value))

    if mode in ("any", "any-with-x"):
        return any(matches(k, v) for k, v in wanted.items())
    return all(matches(k, v) for k, v in wanted.items())


EXCHANGE_TYPES: dict[str, type[Exchange]] = {
    cls.type_name: cls for cls in (DirectExchange, FanoutExchange, TopicExchange, HeadersExchange)
}


def make_binding(
    source: str, destination: Destination, routing_key: str, arguments: dict[str, Any] | None
) -> Binding:
    return Binding(source, destination, routing_key, freeze(arguments or {}), arguments or {})
