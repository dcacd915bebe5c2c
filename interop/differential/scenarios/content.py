"""Content: properties and header tables octet for octet, bodies across frames, empty bodies,
and the property checks RabbitMQ makes on publish."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

from ..registry import scenario
from ..runner import Run
from ..wire import M, T, frame, properties
from .common import fill

EVERY_FIELD_TYPE = {
    "bool": True,
    "false": False,
    "byte": T("b", -5),
    "ubyte": T("B", 250),
    "short": T("s", -300),
    "ushort": T("u", 65000),
    "int": T("I", -70000),
    "uint": T("i", 4000000000),
    "long": T("l", -(2**40)),
    "float": T("f", 1.5),
    "double": T("d", 2.25),
    "decimal": T("D", (2, 12345)),
    "string": "text é",
    "bytes": b"\x00\xffraw",
    "timestamp": T("T", 1700000000),
    "array": [1, "two", T("d", 3.0), [True]],
    "table": {"nested": {"deeper": T("s", 7)}, "empty": {}},
    "void": None,
}

ALL_PROPERTIES = {
    "content_type": "application/json",
    "content_encoding": "gzip",
    "headers": EVERY_FIELD_TYPE,
    "delivery_mode": 2,
    "priority": 7,
    "correlation_id": "corr-1",
    "reply_to": "reply-queue",
    "expiration": "60000",
    "message_id": "msg-1",
    "timestamp": 1700000000,
    "type": "kind",
    "user_id": "guest",
    "app_id": "differential",
    "cluster_id": "cluster",
}


def _roundtrip(run: Run, body: bytes, consume: bool = False, **props: Any) -> Any:
    """Publish with ``props`` (packed by hand) and take the message back by get or consume;
    the content header is shown octet for octet."""
    w = run.raw()
    w.raw_headers = True
    q = run.queue()
    w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    flags, packed = properties(**props)
    fill(w, q, body, flags=flags, props=packed)
    if consume:
        w.ok(1, M.basic_consume(q, "c", no_ack=True), "Basic.ConsumeOk")
        got = w.reply(channel=1)
    else:
        got = w.call(1, M.basic_get(q, no_ack=True))
    return [got, w.probe(1)]


@scenario()
def every_property_get(run: Run) -> Any:
    """All 14 basic properties and a header table of every field type, via basic.get."""
    return _roundtrip(run, b"payload", **ALL_PROPERTIES)


@scenario()
def every_property_deliver(run: Run) -> Any:
    """The same content via basic.deliver."""
    return _roundtrip(run, b"payload", consume=True, **ALL_PROPERTIES)


@scenario()
def property_subsets(run: Run) -> Any:
    """Sparse property flags: only headers, only cluster_id, only timestamp."""
    return [
        _roundtrip(run, b"a", headers={"k": T("l", 1)}),
        _roundtrip(run, b"b", cluster_id="c"),
        _roundtrip(run, b"c", timestamp=0, priority=0),
    ]


@scenario()
def empty_body(run: Run) -> Any:
    """body_size 0: get-ok and a content header, no body frame."""
    return _roundtrip(run, b"")


def _big_body(size: int) -> bytes:
    return bytes(i * 7 % 251 for i in range(size))


@scenario()
def body_split_at_frame_max(run: Run) -> Any:
    """A 300000-byte body comes back in frame_max-sized body frames (131072 and 4096)."""
    body = _big_body(300_000)
    out = []
    for frame_max in (131072, 4096):
        w = run.raw(frame_max=frame_max)
        q = run.queue()
        w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
        fill(w, q, body)
        out.append(w.call(1, M.basic_get(q, no_ack=True)))
    return out


@scenario()
def body_in_small_frames(run: Run) -> Any:
    """A body published in 1-byte frames (with empty frames between) arrives whole."""
    w = run.raw()
    q = run.queue()
    w.ok(1, M.queue_declare(q, exclusive=True), "Queue.DeclareOk")
    body = b"abcdef"
    head = M.basic_publish("", q)
    data = frame(1, 1, head) + frame(2, 1, M.content_header(len(body)))
    for octet in body:
        data += frame(3, 1, b"") + frame(3, 1, bytes([octet]))
    w.send(data)
    return [w.probe(1), w.call(1, M.basic_get(q, no_ack=True))]


def _publish_check(run: Run, **props: Any) -> Any:
    w = run.raw()
    flags, packed = properties(**props)
    w.publish(1, "amq.direct", "k", b"x", flags=flags, props=packed)
    return w.reply(channel=1)


@scenario()
def user_id_must_match(run: Run) -> Any:
    """user_id other than the authenticated user: 406."""
    return _publish_check(run, user_id="bob")


@scenario()
def invalid_expiration(run: Run) -> Any:
    """expiration that is not a non-negative integer: 406."""
    return [_publish_check(run, expiration="abc"), _publish_check(run, expiration="-5")]


@scenario()
def invalid_delivery_mode(run: Run) -> Any:
    """delivery_mode 3: 406 invalid message."""
    return _publish_check(run, delivery_mode=3)


def _pika_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, decimal.Decimal | datetime.datetime):
        return {type(value).__name__: str(value)}
    if isinstance(value, dict):
        return {k: _pika_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_pika_value(v) for v in value]
    if isinstance(value, float):
        return {"float": repr(value)}
    return value


@scenario()
def pika_properties(run: Run) -> Any:
    """pika: every BasicProperties field and typed headers as pika decodes them."""
    import pika  # noqa: PLC0415

    conn = run.pika()
    ch = conn.channel()
    q = ch.queue_declare(run.queue(), exclusive=True).method.queue
    props = pika.BasicProperties(
        content_type="text/plain",
        content_encoding="utf-8",
        headers={
            "int": 1,
            "big": 2**40,
            "str": "s",
            "bytes": b"\x01\x02",
            "list": [1, "a"],
            "dec": decimal.Decimal("1.25"),
            "when": datetime.datetime(2024, 1, 2, 3, 4, 5),
            "nested": {"t": True},
            "none": None,
        },
        delivery_mode=2,
        priority=3,
        correlation_id="c",
        reply_to="r",
        expiration="1000",
        message_id="m",
        timestamp=1700000000,
        type="t",
        user_id="guest",
        app_id="a",
        cluster_id="cl",
    )
    ch.basic_publish("", q, b"body", props)
    method, got, body = ch.basic_get(q, auto_ack=True)
    fields = {k: _pika_value(v) for k, v in vars(got).items()}
    return {"message_count": method.message_count, "props": fields, "body": body.decode()}


@scenario()
async def aio_pika_properties(run: Run) -> Any:
    """aio-pika: a message with properties and headers, published and consumed."""
    import aio_pika  # noqa: PLC0415

    conn = await run.aio()
    ch = await conn.channel()
    q = await ch.declare_queue(run.queue(), exclusive=True)
    message = aio_pika.Message(
        b"body",
        headers={"n": 5, "s": "x", "l": [1, 2], "f": 1.5, "b": False},
        content_type="application/octet-stream",
        correlation_id="cid",
        priority=4,
        message_id="mid",
        app_id="app",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
    await ch.default_exchange.publish(message, routing_key=q.name)
    got = await q.get(timeout=5, no_ack=True)
    info = got.info()
    keep = ("app_id", "content_type", "correlation_id", "delivery_mode", "headers")
    shown = {k: _pika_value(info[k]) for k in keep}
    shown |= {"priority": info["priority"], "message_id": info["message_id"]}
    return {"body": got.body.decode(), "props": shown, "redelivered": got.redelivered}
