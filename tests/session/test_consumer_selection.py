"""Which consumer gets a message: single active consumer (``x-single-active-consumer``) and
consumer priorities (``x-priority``), in the session layer (tests/server/test_priorities.py
asserts the same over sockets)."""

from __future__ import annotations

from pamqp import commands
from sessionutil import bodies, declare, got, props

from amqpbroker.testing.harness import ClientChannel, Delivery

SAC = {"x-single-active-consumer": True}


class Consumer:
    """A consumer on a channel of its own; ``seen`` collects its deliveries."""

    def __init__(
        self, ch: ClientChannel, queue: str, prefetch: int = 0, priority: int | None = None
    ) -> None:
        self.channel = ch.client.channel()
        if prefetch:
            self.channel.qos(prefetch)
        arguments = None if priority is None else {"x-priority": priority}
        self.tag = self.channel.consume(queue, arguments=arguments)
        self.seen: list[Delivery] = []

    def bodies(self) -> list[bytes]:
        self.seen += self.channel.deliveries()
        return bodies(self.seen)

    def cancel(self) -> None:
        self.channel.call(commands.Basic.Cancel(consumer_tag=self.tag), commands.Basic.CancelOk)

    def ack_all(self) -> None:
        self.bodies()
        for delivery in self.seen:
            self.channel.ack(delivery.method.delivery_tag)


class Consumers:
    """Several consumers on one channel (each with its own prefetch), so their deliveries
    come in one ordered stream: ``log()`` is [(label, body)] in the order handed out."""

    def __init__(self, ch: ClientChannel, queue: str) -> None:
        self.channel = ch.client.channel()
        self.queue = queue
        self.labels: dict[str, str] = {}
        self.tags: dict[bytes, int] = {}
        self._log: list[tuple[str, str]] = []

    def consume(self, label: str, prefetch: int = 0, priority: int | None = None) -> None:
        self.channel.qos(prefetch)
        arguments = None if priority is None else {"x-priority": priority}
        self.labels[self.channel.consume(self.queue, label, arguments=arguments)] = label

    def log(self) -> list[tuple[str, str]]:
        for delivery in self.channel.deliveries():
            self.tags[delivery.body] = delivery.method.delivery_tag
            self._log.append((self.labels[delivery.method.consumer_tag], delivery.body.decode()))
        return self._log

    def who(self) -> list[str]:
        return [label for label, _ in self.log()]

    def ack(self, *names: str) -> None:
        self.log()
        for name in names:
            self.channel.ack(self.tags[name.encode()])


def publish(ch: ClientChannel, q: str, *names: str, priority: int | None = None) -> None:
    for name in names:
        assert ch.publish(name.encode(), q, properties=props(priority=priority))


def counts(ch: ClientChannel, q: str) -> tuple[int, int]:
    ok = ch.declare(q, passive=True)
    return ok.message_count, ok.consumer_count


# -- single active consumer ----------------------------------------------------------------------
def test_only_the_first_consumer_receives(ch):
    q = declare(ch, "q", **SAC)
    consumers = [Consumer(ch, q) for _ in range(3)]
    publish(ch, q, "m0", "m1", "m2", "m3")
    assert [c.bodies() for c in consumers] == [[b"m0", b"m1", b"m2", b"m3"], [], []]


def test_declare_ok_counts_every_consumer(ch):
    q = declare(ch, "q", **SAC)
    first, _second, _third = (Consumer(ch, q) for _ in range(3))
    assert counts(ch, q) == (0, 3)
    first.cancel()
    assert counts(ch, q) == (0, 2)


def test_next_consumer_takes_over_when_the_active_one_cancels(ch):
    q = declare(ch, "q", **SAC)
    first, second, third = (Consumer(ch, q) for _ in range(3))
    publish(ch, q, "m0")
    first.cancel()
    publish(ch, q, "m1", "m2")
    third.cancel()
    publish(ch, q, "m3")
    assert [c.bodies() for c in (first, second, third)] == [[b"m0"], [b"m1", b"m2", b"m3"], []]


def test_next_consumer_takes_over_when_the_active_channel_closes(ch):
    q = declare(ch, "q", **SAC)
    first = Consumer(ch, q, prefetch=1)
    second = Consumer(ch, q)
    publish(ch, q, "n0", "n1", "n2")
    assert first.bodies() == [b"n0"]
    assert counts(ch, q) == (2, 2)  # the others wait: not given to the second consumer
    first.channel.close()
    second.bodies()
    assert [(d.body, d.method.redelivered) for d in second.seen] == [
        (b"n0", True),
        (b"n1", False),
        (b"n2", False),
    ]


def test_active_consumer_at_its_prefetch_limit_keeps_the_queue(ch):
    q = declare(ch, "q", **SAC)
    first = Consumer(ch, q, prefetch=1)
    second = Consumer(ch, q)
    publish(ch, q, "m0", "m1", "m2")
    assert counts(ch, q) == (2, 2)
    for _ in range(2):
        first.bodies()
        first.channel.ack(first.seen[-1].method.delivery_tag)
    assert (first.bodies(), second.bodies()) == ([b"m0", b"m1", b"m2"], [])


def test_highest_priority_consumer_takes_over_earliest_among_equals(ch):
    q = declare(ch, "q", **SAC)
    consumers = [Consumer(ch, q, priority=p) for p in (0, 0, 10, 10)]
    order = []
    for i in range(4):
        publish(ch, q, f"m{i}")
        active = next(c for c in consumers if f"m{i}".encode() in c.bodies())
        order.append(consumers.index(active))
        active.ack_all()
        active.cancel()
    assert order == [0, 2, 3, 1]


def test_highest_priority_consumer_takes_over_when_the_channel_closes(ch):
    q = declare(ch, "q", **SAC)
    low, later_low, high = Consumer(ch, q), Consumer(ch, q), Consumer(ch, q, priority=5)
    publish(ch, q, "m0")
    assert low.bodies() == [b"m0"]
    low.channel.close()
    assert later_low.bodies() == []
    assert [(d.body, d.method.redelivered) for d in high.channel.deliveries()] == [(b"m0", True)]


def test_basic_get_is_not_limited_to_the_active_consumer(ch):
    q = declare(ch, "q", **SAC)
    first = Consumer(ch, q, prefetch=1)
    Consumer(ch, q)
    publish(ch, q, "g0", "g1", "g2")
    assert first.bodies() == [b"g0"]
    message = got(ch, q)
    assert (message.body, message.method.message_count) == (b"g1", 1)


def test_cancel_of_a_blocked_active_consumer_leaves_the_waiting_messages(ch):
    q = declare(ch, "q", **SAC)
    first = Consumer(ch, q, prefetch=1)
    second = Consumer(ch, q)
    publish(ch, q, "k0", "k1", "k2")
    assert first.bodies() == [b"k0"]
    first.cancel()
    assert counts(ch, q) == (2, 1)
    first.channel.nack(first.seen[0].method.delivery_tag, requeue=True)
    second.bodies()
    assert [(d.body, d.method.redelivered) for d in second.seen] == [
        (b"k0", True),
        (b"k1", False),
        (b"k2", False),
    ]


def test_exclusive_consumer_is_refused_on_a_single_active_consumer_queue(ch):
    q = declare(ch, "q", **SAC)
    other = ch.client.channel()
    other.send(commands.Basic.Consume(queue=q, exclusive=True))
    assert other.expect_close(403).reply_text == (
        f"ACCESS_REFUSED - queue '{q}' in vhost '/' in exclusive use"
    )


# -- consumer priorities -------------------------------------------------------------------------
def test_higher_priority_consumer_gets_messages_while_it_has_capacity(ch):
    q = declare(ch, "q")
    consumers = Consumers(ch, q)
    consumers.consume("low")
    consumers.consume("high", prefetch=2, priority=10)
    publish(ch, q, *(f"m{i}" for i in range(5)))
    assert consumers.log() == [
        ("high", "m0"),
        ("high", "m1"),
        ("low", "m2"),
        ("low", "m3"),
        ("low", "m4"),
    ]
    consumers.ack("m0")
    publish(ch, q, "m5", "m6", "m7")
    assert consumers.log()[5:] == [("high", "m5"), ("low", "m6"), ("low", "m7")]


def test_round_robin_within_a_priority(ch):
    q = declare(ch, "q")
    consumers = Consumers(ch, q)
    consumers.consume("h1", priority=5)
    consumers.consume("low")
    consumers.consume("h2", priority=5)
    publish(ch, q, *(f"m{i}" for i in range(6)))
    assert consumers.who() == ["h1", "h2"] * 3


def test_negative_priorities_rank_below_the_default(ch):
    q = declare(ch, "q")
    consumers = Consumers(ch, q)
    consumers.consume("minus5", priority=-5)
    consumers.consume("default", prefetch=2)
    consumers.consume("minus1", prefetch=1, priority=-1)
    publish(ch, q, *(f"m{i}" for i in range(5)))
    assert consumers.who() == ["default", "default", "minus1", "minus5", "minus5"]


def test_explicit_zero_and_no_priority_share_a_level(ch):
    q = declare(ch, "q")
    consumers = Consumers(ch, q)
    consumers.consume("none")
    consumers.consume("zero", priority=0)
    publish(ch, q, *(f"m{i}" for i in range(4)))
    assert consumers.who() == ["none", "zero", "none", "zero"]


def test_lower_priority_consumer_takes_what_waits_once_it_has_capacity(ch):
    q = declare(ch, "q")
    publish(ch, q, "m0", "m1", "m2", "m3")
    consumers = Consumers(ch, q)
    consumers.consume("low", prefetch=1)
    consumers.consume("high", prefetch=1, priority=1)
    assert consumers.log() == [("low", "m0"), ("high", "m1")]
    consumers.ack("m0", "m1")
    assert consumers.log()[2:] == [("low", "m2"), ("high", "m3")]


def test_new_consumer_joins_the_rotation_at_the_back(ch):
    q = declare(ch, "q")
    consumers = Consumers(ch, q)
    consumers.consume("a")
    consumers.consume("b")
    publish(ch, q, "m0", "m1", "m2")
    consumers.log()
    consumers.consume("c")
    publish(ch, q, *(f"m{i}" for i in range(3, 9)))
    assert consumers.who() == ["a", "b", "a", "b", "a", "c", "b", "a", "c"]


def test_consumer_found_at_its_limit_rejoins_the_rotation_at_the_back(ch):
    q = declare(ch, "q")
    consumers = Consumers(ch, q)
    for label in "abc":
        consumers.consume(label, prefetch=1)
    publish(ch, q, "m0", "m1", "m2")
    assert consumers.who() == ["a", "b", "c"]
    consumers.ack("m0", "m2")
    publish(ch, q, "m3")
    publish(ch, q, "m4")
    assert consumers.who()[3:] == ["a", "c"]
    consumers.ack("m1", "m3", "m4")
    publish(ch, q, "m5", "m6", "m7")
    assert consumers.who()[5:] == ["a", "c", "b"]


def test_cancelled_consumer_leaves_the_rotation(ch):
    q = declare(ch, "q")
    consumers = Consumers(ch, q)
    for label in "abc":
        consumers.consume(label)
    publish(ch, q, "m0", "m1")
    consumers.log()
    consumers.channel.call(commands.Basic.Cancel(consumer_tag="b"), commands.Basic.CancelOk)
    publish(ch, q, "m2", "m3", "m4", "m5")
    assert consumers.who() == ["a", "b", "c", "a", "c", "a"]


def test_consumer_priorities_on_a_priority_queue(ch):
    q = declare(ch, "q", **{"x-max-priority": 5})
    publish(ch, q, "p1", priority=1)
    publish(ch, q, "p5", priority=5)
    publish(ch, q, "p3", priority=3)
    consumers = Consumers(ch, q)
    consumers.consume("high", prefetch=1, priority=2)
    consumers.consume("low", prefetch=1)
    assert consumers.log() == [("high", "p5"), ("low", "p3")]
