"""Steps many scenarios share: filling a queue with confirmed publishes, reading deliveries,
waiting (with a deadline) for something the broker does asynchronously."""

from __future__ import annotations

from typing import Any

from amqpbroker.testing.polling import DEADLINE, settle

from ..wire import M, Wire

PUBLISHER_CHANNEL = 99


def publish(
    w: Wire, exchange: str, key: str, body: bytes = b"", **publish: Any
) -> list[dict[str, Any]]:
    """Publish on a confirm-mode channel of ``w`` and wait for the confirm; returns what came
    back first (a basic.return, if any) followed by the confirm.  Once this returns, the
    message is in its queues."""
    if not w.publisher_open:
        w.open(PUBLISHER_CHANNEL)
        w.ok(PUBLISHER_CHANNEL, M.confirm_select(), "Confirm.SelectOk")
        w.publisher_open = True
    w.publish(PUBLISHER_CHANNEL, exchange, key, body, **publish)
    out = []
    while True:
        got = w.reply(channel=PUBLISHER_CHANNEL)
        out.append(got)
        if got.get("method") in ("Basic.Ack", "Basic.Nack"):
            return out
        if got.get("method") != "Basic.Return":
            raise AssertionError(f"expected a confirm, got {got}")


def fill(w: Wire, queue: str, *bodies: bytes, **publish_args: Any) -> None:
    """Publish ``bodies`` to ``queue`` through the default exchange, confirmed."""
    for body in bodies:
        publish(w, "", queue, body, **publish_args)


def deliveries(
    w: Wire, count: int, channel: int | None = None, timeout: float = 5.0
) -> list[dict[str, Any]]:
    """The next ``count`` frames (on ``channel``), each expected to be a delivery."""
    out = []
    for _ in range(count):
        got = w.reply(timeout, channel=channel)
        if got.get("method") != "Basic.Deliver":
            raise AssertionError(f"expected a delivery, got {got} after {out}")
        out.append(got)
    return out


def brief(delivery: dict[str, Any]) -> list[Any]:
    """[body, delivery_tag, redelivered] of a delivery or get-ok."""
    return [delivery.get("body"), delivery.get("delivery_tag"), delivery.get("redelivered")]


def get_all(w: Wire, queue: str, channel: int = 1, no_ack: bool = False) -> list[Any]:
    """basic.get until get-empty: [body, redelivered, message_count] of each message."""
    out: list[Any] = []
    while len(out) < 100:
        got = w.call(channel, M.basic_get(queue, no_ack=no_ack))
        if got.get("method") != "Basic.GetOk":
            out.append(got.get("method"))
            return out
        out.append([got["body"], got["redelivered"], got["message_count"]])
    raise AssertionError("queue never ran empty")


def passive(w: Wire, queue: str, channel: int = 1) -> Any:
    """Passive declare: [message_count, consumer_count], or the error's [code, text]."""
    got = w.attempt(channel, M.queue_declare(queue, passive=True))
    if got.get("method") == "Queue.DeclareOk":
        return [got["message_count"], got["consumer_count"]]
    return [got.get("reply_code"), got.get("reply_text")]


def eventually_gone(w: Wire, queue: str, channel: int = 1, deadline: float = DEADLINE) -> Any:
    """Poll with passive declares until the queue is gone (RabbitMQ deletes exclusive and
    auto-delete queues asynchronously); the last answer."""
    return settle(
        lambda: passive(w, queue, channel), lambda state: state[0] == 404, timeout=deadline
    )
