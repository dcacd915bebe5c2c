"""Permissions per AMQP method in the session layer: which resource, which right, in which
order, as RabbitMQ 3.10.8 (interop/differential/scenarios/permissions.py compares the same
against RabbitMQ; tests/server/test_permissions.py drives pika and aio-pika)."""

from __future__ import annotations

from typing import Any

import pytest
from pamqp import commands

from amqpbroker.access.permissions import Permission, TopicPermission, VhostAccess
from amqpbroker.errors import AccessRefused
from amqpbroker.protocol.methods import make_method
from amqpbroker.testing.harness import Client, ClientChannel, SessionBroker


def refused(kind: str, name: str, user: str = "u", vhost: str = "/") -> str:
    return (
        f"ACCESS_REFUSED - access to {kind} '{name}' in vhost '{vhost}' refused for user '{user}'"
    )


Q, E, B = commands.Queue, commands.Exchange, commands.Basic
DEFAULT_EXCHANGE = "ACCESS_REFUSED - operation not permitted on the default exchange"


@pytest.fixture
def admin(broker: SessionBroker) -> ClientChannel:
    """guest's channel: makes queues qok/qno, direct exchanges xok/xno, topic exchange t."""
    ch = broker.connect().channel()
    for q in ("qok", "qno"):
        ch.declare(q)
    for x in ("xok", "xno"):
        ch.exchange(x)
    ch.exchange("t", "topic")
    return ch


def login(
    broker: SessionBroker,
    configure: str = ".*",
    write: str = ".*",
    read: str = ".*",
    *,
    tags: str = "",
    user: str = "u",
) -> Client:
    broker.access.add_user(user, "pw", tags)
    broker.access.set_permissions(user, "/", Permission(configure, write, read))
    return broker.connect(user=user, password="pw")


def attempt(ch: ClientChannel, method: Any) -> str | None:
    """Send ``method``: None if answered without closing the channel, else the 403/404 text
    (the channel is closed; the test reopens if it needs to)."""
    ch.send(method)
    reply = ch.next()
    assert reply is not None
    if isinstance(reply, commands.Channel.Close):
        ch.send(commands.Channel.CloseOk())
        return f"{reply.reply_code} {reply.reply_text}"
    return None


def declare_queue(name: str, **kw: Any) -> Any:
    return make_method(commands.Queue.Declare, queue=name, **kw)


def declare_exchange(name: str, kind: str = "direct", **kw: Any) -> Any:
    return commands.Exchange.Declare(exchange=name, exchange_type=kind, **kw)


METHODS: list[tuple[str, Any, Any, str, str]] = [
    # label, allowed method, refused method, refused resource kind, refused name
    ("queue.declare", declare_queue("qok"), declare_queue("qno"), "queue", "qno"),
    ("queue.delete", Q.Delete(queue="qok"), Q.Delete(queue="qno"), "queue", "qno"),
    ("queue.purge", Q.Purge(queue="qok"), Q.Purge(queue="qno"), "queue", "qno"),
    ("basic.get", B.Get(queue="qok"), B.Get(queue="qno"), "queue", "qno"),
    ("basic.consume", B.Consume(queue="qok"), B.Consume(queue="qno"), "queue", "qno"),
    ("exchange.declare", declare_exchange("xok"), declare_exchange("xno"), "exchange", "xno"),
    ("exchange.delete", E.Delete(exchange="xok"), E.Delete(exchange="xno"), "exchange", "xno"),
    (
        "queue.bind (queue)",
        Q.Bind(queue="qok", exchange="xok"),
        Q.Bind(queue="qno", exchange="xok"),
        "queue",
        "qno",
    ),
    (
        "queue.bind (exchange)",
        Q.Bind(queue="qok", exchange="xok"),
        Q.Bind(queue="qok", exchange="xno"),
        "exchange",
        "xno",
    ),
    (
        "queue.unbind",
        Q.Unbind(queue="qok", exchange="xok"),
        Q.Unbind(queue="qok", exchange="xno"),
        "exchange",
        "xno",
    ),
    (
        "exchange.bind (destination)",
        E.Bind(destination="xok", source="xok"),
        E.Bind(destination="xno", source="xok"),
        "exchange",
        "xno",
    ),
    (
        "exchange.bind (source)",
        E.Bind(destination="xok", source="xok"),
        E.Bind(destination="xok", source="xno"),
        "exchange",
        "xno",
    ),
    (
        "exchange.unbind",
        E.Unbind(destination="xok", source="xok"),
        E.Unbind(destination="xok", source="xno"),
        "exchange",
        "xno",
    ),
]


@pytest.mark.parametrize(
    ("allowed", "denied", "kind", "name"), [m[1:] for m in METHODS], ids=[m[0] for m in METHODS]
)
def test_each_method_allowed_and_refused(broker, admin, allowed, denied, kind, name) -> None:
    client = login(broker, "ok", "ok", "ok")
    ch = client.channel()
    assert attempt(ch, allowed) is None
    assert attempt(ch, denied) == "403 " + refused(kind, name)
    assert not client.closed
    client.channel().exchange("amq.direct", passive=True)  # the connection carries on


@pytest.mark.parametrize("exchange", ["xno", "", "missing-no"])
def test_publish_needs_write_on_the_exchange_before_it_is_looked_up(broker, admin, exchange):
    ch = login(broker, write="ok").channel()
    ch.publish(b"m", "k", exchange)
    close = ch.expect_close(403)
    assert close.reply_text == refused("exchange", exchange or "amq.default")
    assert (close.class_id, close.method_id) == (60, 40)


def test_publish_allowed_is_routed_and_missing_allowed_exchange_is_404(broker, admin):
    admin.bind("qok", "xok", "k")
    ch = login(broker, configure="", write="ok", read="").channel()
    ch.select_confirms()
    assert ch.publish(b"m", "k", "xok") is True
    assert admin.message_count("qok") == 1
    ch.publish(b"m", "k", "missing-ok")
    assert ch.expect_close(404).reply_text == "NOT_FOUND - no exchange 'missing-ok' in vhost '/'"


def test_publish_internal_exchange_is_checked_after_write(broker, admin):
    admin.exchange("iok", internal=True)
    admin.exchange("ino", internal=True)
    client = login(broker, write="ok")
    ch = client.channel()
    ch.publish(b"m", "k", "ino")
    assert ch.expect_close(403).reply_text == refused("exchange", "ino")
    ch = client.channel()
    ch.publish(b"m", "k", "iok")
    assert "cannot publish to internal exchange 'iok'" in ch.expect_close(403).reply_text


def test_queue_declare_reserved_prefix_is_checked_before_configure(broker):
    ch = login(broker, configure="^$").channel()
    assert "reserved prefix" in (attempt(ch, declare_queue("amq.x")) or "")


def test_server_named_queue_is_checked_under_its_generated_name(broker):
    client = login(broker, configure="^amq\\.gen-")
    assert client.channel().declare("", exclusive=True).queue.startswith("amq.gen-")
    ch = login(broker, configure="^x", user="v").channel()
    text = attempt(ch, declare_queue("", exclusive=True)) or ""
    assert text.startswith("403 ACCESS_REFUSED - access to queue 'amq.gen-")


def test_passive_declares_check_nothing(broker, admin):
    ch = login(broker, "", "", "").channel()
    assert ch.declare("qno", passive=True).queue == "qno"
    ch.exchange("xno", passive=True)
    assert attempt(ch, declare_exchange("", passive=True)) == "403 " + DEFAULT_EXCHANGE
    ch = ch.client.channel()
    assert attempt(ch, declare_queue("missing", passive=True)).startswith("404")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    [
        ("", "direct", "403 " + DEFAULT_EXCHANGE),  # default exchange before configure
        ("amq.nope", "direct", "403 " + refused("exchange", "amq.nope")),  # configure first
        (
            "amq.ok",
            "direct",
            "403 ACCESS_REFUSED - exchange name 'amq.ok' contains reserved prefix 'amq.*'",
        ),
    ],
)
def test_exchange_declare_order(broker, name, kind, expected):
    ch = login(broker, configure="ok").channel()
    assert attempt(ch, declare_exchange(name, kind)) == expected


def test_exchange_declare_unknown_type_comes_first_and_closes_the_connection(broker):
    client = login(broker, configure="ok")
    client.channel().send(declare_exchange("xno", "nosuch"))
    assert client.expect_close(503).reply_text == "COMMAND_INVALID - unknown exchange type 'nosuch'"


def test_exchange_delete_system_exchange_before_configure(broker):
    ch = login(broker, configure="^$").channel()
    text = attempt(ch, E.Delete(exchange="amq.direct"))
    assert (
        text
        == "403 ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed"
    )


def test_permissions_before_existence(broker):
    client = login(broker, "ok", "ok", "ok")
    for method, kind in [
        (Q.Delete(queue="gone-no"), "queue"),
        (Q.Purge(queue="gone-no"), "queue"),
        (B.Get(queue="gone-no"), "queue"),
        (B.Consume(queue="gone-no"), "queue"),
        (E.Delete(exchange="gone-no"), "exchange"),
        (Q.Bind(queue="gone-no", exchange="xok"), "queue"),
    ]:
        assert attempt(client.channel(), method) == "403 " + refused(kind, "gone-no")


def test_bind_checks_write_on_queue_then_default_exchange_then_read(broker, admin):
    client = login(broker, write="ok", read="ok")
    bind = Q.Bind
    assert attempt(client.channel(), bind(queue="qno", exchange="")) == "403 " + refused(
        "queue", "qno"
    )
    assert attempt(client.channel(), bind(queue="qok", exchange="")) == "403 " + DEFAULT_EXCHANGE
    assert attempt(client.channel(), bind(queue="qok", exchange="xno")) == "403 " + refused(
        "exchange", "xno"
    )
    assert attempt(client.channel(), bind(queue="qok", exchange="missing-ok")).startswith("404")  # type: ignore[union-attr]


def test_exchange_bind_default_destination_needs_write_on_amq_default_first(broker, admin):
    client = login(broker, write="ok", read="ok")
    ebind = E.Bind
    assert attempt(client.channel(), ebind(destination="", source="xok")) == "403 " + refused(
        "exchange", "amq.default"
    )
    assert (
        attempt(client.channel(), ebind(destination="xok", source="")) == "403 " + DEFAULT_EXCHANGE
    )


def test_dead_letter_exchange_needs_read_on_queue_then_write_on_it_when_created(broker, admin):
    admin.declare("existing-no", arguments={"x-dead-letter-exchange": "xno"})
    client = login(broker, write="ok", read="ok")

    def dlx(name: str, exchange: str) -> Any:
        return declare_queue(name, arguments={"x-dead-letter-exchange": exchange})

    assert attempt(client.channel(), dlx("new-ok", "xok")) is None
    assert attempt(client.channel(), dlx("new2-ok", "xno")) == "403 " + refused("exchange", "xno")
    assert attempt(client.channel(), dlx("new-no", "xno")) == "403 " + refused("queue", "new-no")
    assert attempt(client.channel(), dlx("existing-no", "xno")) is None  # a redeclare: skipped


def test_alternate_exchange_needs_read_on_exchange_then_write_on_it(broker, admin):
    client = login(broker, write="ok", read="ok")

    def ae(name: str, exchange: str) -> Any:
        return declare_exchange(name, arguments={"alternate-exchange": exchange})

    assert attempt(client.channel(), ae("new-ok", "xok")) is None
    assert attempt(client.channel(), ae("new2-ok", "xno")) == "403 " + refused("exchange", "xno")
    assert attempt(client.channel(), ae("new-no", "xno")) == "403 " + refused("exchange", "new-no")


def test_direct_reply_to_needs_no_permission(broker):
    ch = login(broker, "", "", "").channel()
    ch.consume("amq.rabbitmq.reply-to", "r", no_ack=True)
    ch.publish(b"m", "k", "amq.direct")  # publishing still needs write
    assert ch.expect_close(403).reply_text == refused("exchange", "amq.direct")


# -- topic permissions --------------------------------------------------------------------------


def test_topic_write_on_publish_with_username_variable(broker, admin):
    client = login(broker)
    broker.access.set_topic_permissions(
        "u", "/", TopicPermission("t", write="^{username}\\.", read=".*")
    )
    ch = client.channel()
    ch.select_confirms()
    assert ch.publish(b"m", "u.x", "t") is True
    assert ch.publish(b"m", "k", "amq.topic") is True  # no entry for that exchange
    ch.publish(b"m", "v.x", "t")
    assert ch.expect_close(403).reply_text == (
        "ACCESS_REFUSED - access to topic 'v.x' in exchange 't' in vhost '/' refused for user 'u'"
    )


def test_topic_read_on_bind_with_vhost_variable_and_non_topic_exchange_unaffected(broker, admin):
    client = login(broker)
    for exchange in ("t", "xok"):
        broker.access.set_topic_permissions("u", "/", TopicPermission(exchange, ".*", "^{vhost}"))
    ch = client.channel()
    ch.bind("qok", "t", "/.k")
    ch.bind("qok", "xok", "zzz")  # a direct exchange: topic permissions do not apply
    text = attempt(ch, commands.Queue.Unbind(queue="qok", exchange="t", routing_key="zzz"))
    assert text == (
        "403 ACCESS_REFUSED - access to topic 'zzz' in exchange 't' in vhost '/' "
        "refused for user 'u'"
    )


# -- the user and the connection ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "allowed"), [("impersonator", True), ("administrator", False), ("", False)]
)
def test_only_an_impersonator_may_publish_another_user_id(broker, tags, allowed):
    ch = login(broker, tags=tags).channel()
    q = ch.declare("", exclusive=True).queue
    ch.publish(b"m", q, properties=commands.Basic.Properties(user_id="someone"))
    if allowed:
        delivery = ch.get(q)
        assert delivery is not None and delivery.properties.user_id == "someone"
    else:
        assert ch.expect_close(406).reply_text.startswith("PRECONDITION_FAILED - user_id property")


@pytest.mark.parametrize("secret", ["pw", "wrong", ""])
def test_update_secret_is_answered_ok_and_the_connection_carries_on(broker, secret):
    client = login(broker)
    client.send(0, commands.Connection.UpdateSecret(new_secret=secret, reason="refresh"))
    client.expect(0, commands.Connection.UpdateSecretOk)
    client.channel().declare("after", exclusive=True)


def test_a_permission_change_reaches_open_channels_at_once(broker, admin):
    client = login(broker)
    ch = client.channel()
    ch.select_confirms()
    assert ch.publish(b"m", "k", "xok") is True
    broker.access.set_permissions("u", "/", Permission(write="^$"))
    ch.publish(b"m", "k", "xok")
    assert ch.expect_close(403).reply_text == refused("exchange", "xok")


def test_the_default_user_is_unrestricted(client):
    assert client.session.access is not None and client.session.access.unrestricted


def test_a_reused_consumer_tag_is_refused_before_read_and_existence(broker, admin):
    client = login(broker, read="ok")
    ch = client.channel()
    ch.consume("qok", "c")
    ch.send(commands.Basic.Consume(queue="qno", consumer_tag="c"))
    close = client.expect_close(530)
    assert close.reply_text == "NOT_ALLOWED - attempt to reuse consumer tag 'c'"


# -- VhostAccess: the cached answers ------------------------------------------------------------


def test_publish_cache_follows_a_refresh() -> None:
    access = VhostAccess("u", "/", Permission(write="^x"))
    access.check_publish("x1")
    with pytest.raises(AccessRefused, match="'amq\\.default'"):
        access.check_publish("")
    access.refresh(Permission(write="^y"), {})
    with pytest.raises(AccessRefused, match="'x1'"):
        access.check_publish("x1")
    access.check_publish("y1")


def test_unrestricted_only_with_full_expressions_and_no_topic_permissions() -> None:
    assert VhostAccess("u", "/", Permission()).unrestricted
    assert not VhostAccess("u", "/", Permission(configure="^a")).unrestricted
    topics = {"t": TopicPermission("t")}
    assert not VhostAccess("u", "/", Permission(), topics).unrestricted


def test_impersonator_is_taken_from_the_tags_at_login(broker) -> None:
    client = login(broker, tags="impersonator")
    assert client.session.access is not None and client.session.access.impersonator
    broker.access.set_user_tags("u", "")  # as RabbitMQ: the open connection keeps its tags
    assert client.session.access.impersonator
    assert not broker.connect(user="u", password="pw").session.access.impersonator  # type: ignore[union-attr]
