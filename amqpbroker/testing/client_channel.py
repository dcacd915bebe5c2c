"""One channel of a harness client (``amqpbroker.testing.harness``): the methods a test sends
on it, in the words of the protocol, and what came back on it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pamqp import commands
from pamqp.base import Frame

from amqpbroker.protocol.methods import make_method

from .inbox import Delivery, M, Received, is_deliver, show

if TYPE_CHECKING:
    from .harness import Client


class ClientChannel:
    """One channel of a ``Client``: methods and publishes on its number, what came back.

    In confirm mode (``select_confirms``) ``publish`` returns whether the broker acked."""

    def __init__(self, client: Client, number: int) -> None:
        self.client = client
        self.number = number
        self.confirming = False

    def send(self, method: Frame) -> None:
        self.client.send(self.number, method)

    def call(self, method: Frame, reply: type[M]) -> M:
        """Send ``method``; the next method on this channel must be a ``reply``
        (deliveries received meanwhile stay unread)."""
        self.send(method)
        return self.client.inbox.reply(self.number, reply)

    def expect(self, kind: type[M]) -> M:
        return self.client.expect(self.number, kind)

    def next(self) -> Received | None:
        return self.client.next(self.number)

    def received(self) -> list[Received]:
        return self.client.received(self.number)

    def deliveries(self) -> list[Delivery]:
        return self.client.deliveries(self.number)

    def expect_close(self, reply_code: int) -> commands.Channel.Close:
        """The broker closed this channel with ``reply_code``; answers close-ok."""
        close = self.expect(commands.Channel.Close)
        assert close.reply_code == reply_code, (close.reply_code, close.reply_text)
        self.send(commands.Channel.CloseOk())
        return close

    def close(self) -> None:
        method = commands.Channel.Close(reply_code=200, reply_text="bye", class_id=0, method_id=0)
        self.call(method, commands.Channel.CloseOk)

    # -- the usual calls ------------------------------------------------------------------

    def publish(
        self,
        body: bytes = b"",
        routing_key: str = "",
        exchange: str = "",
        properties: commands.Basic.Properties | None = None,
        mandatory: bool = False,
    ) -> bool | None:
        """basic.publish with its content.  In confirm mode: True when acked, False when
        nacked (the confirm is read; a basic.return before it stays unread); else None."""
        self.client.send_bytes(
            self.client.publish_bytes(
                self.number, body, exchange, routing_key, properties, mandatory
            )
        )
        if not self.confirming:
            return None
        confirm = self.client.inbox.take_first(self.number, commands.Basic.Ack, commands.Basic.Nack)
        return None if confirm is None else isinstance(confirm, commands.Basic.Ack)

    def select_confirms(self) -> None:
        self.call(commands.Confirm.Select(), commands.Confirm.SelectOk)
        self.confirming = True

    def declare(
        self, queue: str = "", arguments: dict[str, Any] | None = None, **flags: Any
    ) -> commands.Queue.DeclareOk:
        """queue.declare (``durable=True``, ``exclusive=True``...): returns declare-ok."""
        # (built without pamqp's name check: the broker accepts any name, as RabbitMQ does)
        method = make_method(commands.Queue.Declare, queue=queue, arguments=arguments, **flags)
        return self.call(method, commands.Queue.DeclareOk)

    def bind(self, queue: str, exchange: str, routing_key: str = "", **arguments: Any) -> None:
        method = commands.Queue.Bind(
            queue=queue, exchange=exchange, routing_key=routing_key, arguments=arguments or None
        )
        self.call(method, commands.Queue.BindOk)

    def exchange(self, name: str, kind: str = "direct", **flags: Any) -> None:
        """exchange.declare (``durable=True``, ``arguments={...}``...)."""
        method = commands.Exchange.Declare(exchange=name, exchange_type=kind, **flags)
        self.call(method, commands.Exchange.DeclareOk)

    def consume(self, queue: str, tag: str = "", **flags: Any) -> str:
        """basic.consume (``no_ack=True``, ``arguments={...}``...): returns the consumer tag."""
        method = commands.Basic.Consume(queue=queue, consumer_tag=tag, **flags)
        return str(self.call(method, commands.Basic.ConsumeOk).consumer_tag)

    def qos(self, prefetch_count: int, global_: bool = False) -> None:
        method = commands.Basic.Qos(prefetch_count=prefetch_count, global_=global_)
        self.call(method, commands.Basic.QosOk)

    def get(self, queue: str, no_ack: bool = True) -> Delivery | None:
        """basic.get: the message, or None on get-empty."""
        self.send(commands.Basic.Get(queue=queue, no_ack=no_ack))
        got = self.client.inbox.take(self.number, lambda item: not is_deliver(item))
        if isinstance(got, commands.Basic.GetEmpty):
            return None
        assert isinstance(got, Delivery), f"expected get-ok or get-empty, got {show(got)}"
        return got

    def drain(self, queue: str) -> list[bytes]:
        """Every message's body, by basic.get (no-ack), until the queue is empty."""
        return [message.body for message in iter(lambda: self.get(queue), None)]

    def ack(self, delivery_tag: int, multiple: bool = False) -> None:
        self.send(commands.Basic.Ack(delivery_tag=delivery_tag, multiple=multiple))

    def nack(self, delivery_tag: int, multiple: bool = False, requeue: bool = True) -> None:
        self.send(
            commands.Basic.Nack(delivery_tag=delivery_tag, multiple=multiple, requeue=requeue)
        )

    def reject(self, delivery_tag: int, requeue: bool = True) -> None:
        self.send(commands.Basic.Reject(delivery_tag=delivery_tag, requeue=requeue))

    def message_count(self, queue: str) -> int:
        """queue.declare passive: how many messages are ready."""
        return int(self.declare(queue, passive=True).message_count or 0)
