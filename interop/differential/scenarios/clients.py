"""What pika and aio-pika applications see: connection set-up and failures, consumers with
callbacks, cancel notifications, returns, confirms, errors as client exceptions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from amqpbroker.testing.polling import DEADLINE, settle

from ..registry import scenario
from ..runner import Run


def _process_until(conn: Any, done: Callable[[], Any], timeout: float = DEADLINE) -> None:
    """Let pika dispatch callbacks until ``done()`` is true (or the deadline passes)."""
    settle(done, timeout=timeout, pause=lambda: conn.process_data_events(time_limit=0.1))


def _error(exc: BaseException) -> list[Any]:
    """A client exception as [class name, its arguments]."""
    return [type(exc).__name__, [str(a) for a in exc.args]]


@scenario()
def pika_connection(run: Run) -> Any:
    """pika: server properties and the negotiated channel_max / frame_max / heartbeat."""
    conn = run.pika()
    params = conn._impl.params
    return {
        "server_properties": conn._impl.server_properties,
        "negotiated": [params.channel_max, params.frame_max, params.heartbeat],
    }


@scenario()
def pika_lower_client_values_win(run: Run) -> Any:
    """pika asking for lower channel_max / frame_max / heartbeat gets them."""
    conn = run.pika(channel_max=10, frame_max=8192, heartbeat=5)
    params = conn._impl.params
    return [params.channel_max, params.frame_max, params.heartbeat]


@scenario()
def pika_wrong_password(run: Run) -> Any:
    """pika with a wrong password: ProbableAuthenticationError carrying the 403."""
    import pika.exceptions  # noqa: PLC0415

    try:
        run.pika(credentials=pika.PlainCredentials("guest", "wrong"))
    except pika.exceptions.AMQPConnectionError as exc:
        return _error(exc)
    return "connected"


@scenario()
def pika_unknown_vhost(run: Run) -> Any:
    """pika with an unknown vhost: ProbableAccessDeniedError carrying the 530."""
    import pika.exceptions  # noqa: PLC0415

    try:
        run.pika(virtual_host=f"nowhere-{run.token}")
    except pika.exceptions.AMQPConnectionError as exc:
        return _error(exc)
    return "connected"


@scenario()
def pika_connection_error(run: Run) -> Any:
    """pika basic_qos(prefetch_size=1): ConnectionClosedByBroker 540."""
    import pika.exceptions  # noqa: PLC0415

    conn = run.pika()
    ch = conn.channel()
    try:
        ch.basic_qos(prefetch_size=1)
    except pika.exceptions.ConnectionClosedByBroker as exc:
        return [_error(exc), conn.is_open]
    return "no error"


@scenario()
def pika_consume_ack_cancel(run: Run) -> Any:
    """pika: basic_consume with a callback, manual acks, prefetch 1, basic_cancel."""
    conn = run.pika()
    ch = conn.channel()
    q = ch.queue_declare(run.queue(), exclusive=True).method.queue
    ch.confirm_delivery()
    for i in range(3):
        ch.basic_publish("", q, f"m{i}".encode())
    ch.basic_qos(prefetch_count=1)
    seen: list[Any] = []

    def on_message(channel: Any, method: Any, _props: Any, body: bytes) -> None:
        seen.append([body.decode(), method.delivery_tag, method.redelivered])
        channel.basic_ack(method.delivery_tag)
        if len(seen) == 3:
            channel.stop_consuming()

    tag = ch.basic_consume(q, on_message, consumer_tag="pika-consumer")
    ch.start_consuming()
    ch.basic_cancel(tag)
    declared = ch.queue_declare(q, passive=True).method
    return [seen, declared.message_count, declared.consumer_count]


@scenario()
def pika_consumer_cancel_notification(run: Run) -> Any:
    """pika: deleting the queue from another channel fires the consumer's cancel callback."""
    conn = run.pika()
    ch, other = conn.channel(), conn.channel()
    q = ch.queue_declare(run.queue()).method.queue
    cancelled: list[Any] = []
    ch.add_on_cancel_callback(lambda frame: cancelled.append(frame.method.consumer_tag))
    ch.basic_consume(q, lambda *_: None, consumer_tag="doomed")
    deleted = other.queue_delete(q).method.message_count
    _process_until(conn, lambda: cancelled)
    return [deleted, cancelled, ch.is_open]


@scenario()
def pika_returned_message(run: Run) -> Any:
    """pika without confirms: a mandatory unroutable publish comes back to on_return."""
    conn = run.pika()
    ch = conn.channel()
    returned: list[Any] = []

    def on_return(_ch: Any, method: Any, props: Any, body: bytes) -> None:
        returned.append([method.reply_code, method.reply_text, method.routing_key, body.decode()])

    ch.add_on_return_callback(on_return)
    ch.basic_publish("amq.direct", f"nowhere-{run.token}", b"back", mandatory=True)
    _process_until(conn, lambda: returned)
    return returned


@scenario()
async def aio_pika_connection(run: Run) -> Any:
    """aio-pika: connect and see the server's capabilities."""
    conn = await run.aio()
    return dict(conn.transport.connection.server_capabilities)


@scenario()
async def aio_pika_topic_consume(run: Run) -> Any:
    """aio-pika: a topic exchange, a bound exclusive queue, an iterator consumer."""
    import aio_pika  # noqa: PLC0415

    conn = await run.aio()
    ch = await conn.channel()
    await ch.set_qos(prefetch_count=2)
    x = await ch.declare_exchange(run.exchange(), aio_pika.ExchangeType.TOPIC, auto_delete=True)
    q = await ch.declare_queue(exclusive=True)
    await q.bind(x, "logs.*.error")
    for key in ("logs.web.error", "logs.web.info", "logs.db.error", "logs.error"):
        await x.publish(aio_pika.Message(key.encode()), routing_key=key)
    got = []
    async with q.iterator() as messages:
        async for message in messages:
            async with message.process():
                got.append([message.body.decode(), message.routing_key, message.delivery_tag])
            if len(got) == 2:
                break
    return {"queue": q.name, "got": got}


@scenario()
async def aio_pika_channel_error(run: Run) -> Any:
    """aio-pika: a passive declare of a missing queue raises ChannelNotFoundEntity."""
    conn = await run.aio()
    ch = await conn.channel()
    try:
        await ch.declare_queue(run.queue(), passive=True)
    except Exception as exc:
        return [type(exc).__name__, [str(a) for a in exc.args]]
    return "no error"


@scenario()
async def aio_pika_returned_with_confirms(run: Run) -> Any:
    """aio-pika with confirms: a mandatory unroutable publish raises DeliveryError."""
    import aio_pika  # noqa: PLC0415

    conn = await run.aio()
    ch = await conn.channel(publisher_confirms=True, on_return_raises=True)
    exchange = await ch.get_exchange("amq.direct")
    try:
        await exchange.publish(aio_pika.Message(b"lost"), f"nokey-{run.token}", mandatory=True)
    except aio_pika.exceptions.DeliveryError as exc:
        frame = exc.frame
        return [type(exc).__name__, frame.reply_code, frame.reply_text, exc.message.body.decode()]
    return "confirmed"


@scenario()
async def aio_pika_nack_requeue(run: Run) -> Any:
    """aio-pika: a rejected message with requeue comes back redelivered."""
    import aio_pika  # noqa: PLC0415

    conn = await run.aio()
    ch = await conn.channel()
    q = await ch.declare_queue(run.queue(), exclusive=True)
    await ch.default_exchange.publish(aio_pika.Message(b"again"), routing_key=q.name)
    first = await q.get(timeout=5)
    await first.nack(requeue=True)
    second = await q.get(timeout=5)
    await second.ack()
    empty = await q.get(fail=False)
    return [
        [first.body.decode(), first.redelivered, first.delivery_tag],
        [second.body.decode(), second.redelivered, second.delivery_tag],
        empty,
    ]


@scenario()
async def aio_pika_consumer_cancelled_by_broker(run: Run) -> Any:
    """aio-pika: the queue deleted under a consumer; the channel stays usable."""
    conn = await run.aio()
    ch = await conn.channel()
    other = await conn.channel()
    q = await ch.declare_queue(run.queue())

    async def ignore(message: Any) -> None:
        del message

    await q.consume(ignore, consumer_tag="doomed")
    deleted = await other.queue_delete(q.name)
    again = await ch.declare_queue(exclusive=True)
    return [deleted.message_count, ch.is_closed, again.name.startswith("amq.gen-")]
