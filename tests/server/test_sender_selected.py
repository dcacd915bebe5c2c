"""Sender-selected distribution (the CC and BCC headers) as RabbitMQ 3.10 implements it.

The longstr elements of the CC and BCC arrays are routing keys besides the publish's own:
each exchange on the way routes by all of them, one copy per queue.  BCC is removed before
anyone sees the message; a CC or BCC that is not an array fails the publish with 406.

Publishes go through a confirm-mode channel: once basic_publish returns, the message is in its
queues (or dropped), and basic.get observes the result without waiting.
"""

from __future__ import annotations

import datetime
from typing import Any

import pika
import pika.exceptions
import pytest
from clientutil import channel_error

pytestmark = pytest.mark.timeout(30)


def direct_exchange(ch: Any, name: str, *keys: str) -> tuple[str, dict[str, str]]:
    """An auto-delete direct exchange and an exclusive queue bound to it by each key."""
    ch.exchange_declare(name, "direct", auto_delete=True)
    queues = {}
    for key in keys:
        queues[key] = ch.queue_declare("", exclusive=True).method.queue
        ch.queue_bind(queues[key], name, key)
    return name, queues


def taken(ch: Any, queue: str) -> list[tuple[bytes, dict[str, Any] | None]]:
    """(body, headers) of every message in ``queue``, taken."""
    out = []
    while True:
        method, props, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            return out
        out.append((body, props.headers))


def with_headers(**headers: Any) -> pika.BasicProperties:
    return pika.BasicProperties(headers=headers)


def test_every_key_routes_once_per_queue_and_bcc_is_removed(channel, unique):
    x, queues = direct_exchange(channel, unique("x"), "k", "cc", "bcc", "other")
    both = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(both, x, "k")
    channel.queue_bind(both, x, "cc")
    headers = {"CC": ["cc", "k", "cc"], "BCC": ["bcc", "k"], "a": 1}
    channel.basic_publish(x, "k", b"m", with_headers(**headers))
    delivered = (b"m", {"a": 1, "CC": ["cc", "k", "cc"]})
    for key in ("k", "cc", "bcc"):
        assert taken(channel, queues[key]) == [delivered]
    assert taken(channel, both) == [delivered]
    assert taken(channel, queues["other"]) == []


def test_only_longstr_elements_are_keys(channel, unique):
    """Binary and numeric elements are skipped, not refused; an empty array is fine."""
    x, queues = direct_exchange(channel, unique("x"), "k", "named")
    for headers in ({"CC": [b"named", 1]}, {"BCC": [b"named"]}, {"CC": []}, {"CC": [1, "named"]}):
        channel.basic_publish(x, "k", b"m", with_headers(**headers))
    assert len(taken(channel, queues["k"])) == 4
    assert taken(channel, queues["named"]) == [(b"m", {"CC": [1, "named"]})]


STAMP = datetime.datetime.fromtimestamp(1_700_000_000, datetime.UTC)


@pytest.mark.parametrize("header", ["CC", "BCC"])
@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        ("k", "longstr"),
        (b"k", "binary"),
        (5, "signedint"),
        (2**40, "long"),
        (True, "bool"),
        (None, "void"),
        ({"k": "v"}, "table"),
        (STAMP, "timestamp"),
    ],
)
def test_cc_and_bcc_must_be_arrays(connection, unique, header, value, type_name):
    queue = unique("q")

    def publish(ch: Any) -> None:
        ch.queue_declare(queue, exclusive=True)
        ch.confirm_delivery()
        ch.basic_publish("", queue, b"m", with_headers(**{header: value}))

    assert channel_error(connection, publish) == (
        406,
        f'PRECONDITION_FAILED - invalid message: {{unacceptable_type_in_header,"{header}",'
        f"{type_name}}}",
    )


def test_cc_is_checked_before_delivery_mode_and_after_expiration(connection, unique):
    def publish(**props: Any) -> Any:
        def action(ch: Any) -> None:
            ch.confirm_delivery()
            properties = pika.BasicProperties(headers={"BCC": 1, "CC": "k"}, **props)
            ch.basic_publish("amq.direct", unique("k"), b"m", properties)

        return channel_error(connection, action)

    cc_refused = (
        406,
        'PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",longstr}',
    )
    assert publish(delivery_mode=3) == cc_refused
    assert publish(expiration="soon") == (
        406,
        "PRECONDITION_FAILED - invalid expiration 'soon': no_integer",
    )


def test_lower_case_cc_is_an_ordinary_header(channel, unique):
    x, queues = direct_exchange(channel, unique("x"), "k", "cc")
    channel.basic_publish(x, "k", b"m", with_headers(cc="cc", bcc=["cc"]))
    assert taken(channel, queues["k"]) == [(b"m", {"cc": "cc", "bcc": ["cc"]})]
    assert taken(channel, queues["cc"]) == []


def test_keys_route_through_exchange_bindings(channel, unique):
    """The exchange a CC key leads to routes by the routing key too."""
    source = unique("src")
    channel.exchange_declare(source, "direct", auto_delete=True)
    destination, queues = direct_exchange(channel, unique("dst"), "k")
    channel.exchange_bind(destination, source, "cc")
    channel.basic_publish(source, "k", b"cc", with_headers(CC=["cc"]), mandatory=True)
    channel.basic_publish(source, "k", b"bcc", with_headers(BCC=["cc"]), mandatory=True)
    assert [body for body, _ in taken(channel, queues["k"])] == [b"cc", b"bcc"]


def test_mandatory_is_satisfied_by_a_cc_key_only(channel, unique):
    x, queues = direct_exchange(channel, unique("x"), "cc")
    channel.basic_publish(x, "k", b"routed", with_headers(CC=["cc"]), mandatory=True)
    with pytest.raises(pika.exceptions.UnroutableError) as info:
        channel.basic_publish(x, "k", b"lost", with_headers(CC=["n"], BCC=["n"]), mandatory=True)
    (returned,) = info.value.messages
    assert returned.properties.headers == {"CC": ["n"]}
    assert [body for body, _ in taken(channel, queues["cc"])] == [b"routed"]


def test_keys_route_in_a_transaction(connection, unique):
    ch = connection.channel()
    x, queues = direct_exchange(ch, unique("x"), "k", "cc", "bcc")
    ch.tx_select()
    ch.basic_publish(x, "k", b"m", with_headers(CC=["cc"], BCC=["bcc"]))
    assert all(taken(ch, q) == [] for q in queues.values())
    ch.tx_commit()
    for queue in queues.values():
        assert taken(ch, queue) == [(b"m", {"CC": ["cc"]})]


def test_a_bad_cc_fails_the_publish_not_the_commit(connection, unique):
    def publish_in_tx(ch: Any) -> None:
        ch.tx_select()
        ch.basic_publish("amq.direct", unique("k"), b"m", with_headers(CC="k"))
        ch.queue_declare(unique("after-publish"), passive=True)  # a round trip

    assert channel_error(connection, publish_in_tx) == (
        406,
        'PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",longstr}',
    )
