"""Whether a connection handles its input now, and the dispatch of a run of publishes.

Theory of operation: input that arrives while the gate is shut stays buffered unhandled
(the session keeps it in its frame reader) and the transport stops reading the socket.
Three things shut it, each for its own reason:

- ``held``: a reply this connection owes waits for the disk (basic.get of a paged-out
  message), and later replies must not overtake it.  Counts in every connection state.
- the publisher throttle (``throttle.blocked``): a resource alarm caught this connection
  publishing (see ``throttle``).
- queue holds: a queue this connection published into is far behind its consumers (core
  queue's FLOW_HIGH) and holds its publishers until it catches up.

The last two count only while the connection is open: a connection closing on the
broker's initiative reads again, for its close-ok.  The throttle's transitions go through
the gate (``content_received``, ``alarm_cleared``), which keeps the answer (``shut``) at
hand: the session asks after every frame.

Publishes and acks come in runs (one socket read holds many).  The queues they touch are
dispatched once at the end of the run (``dispatch_pending``), not once per message; only
the queues published into may then hold the connection back.  A queue lets go while it
dispatches for another connection: the gate then only notes that input may resume
(``take_resumed``) and asks for a flush, from which the session handles the buffered input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Protocol

from amqpbroker.protocol.methods import Method

from .throttle import PublisherThrottle


class FlowQueue(Protocol):
    """What the gate asks of a queue (``core.queue.Queue``)."""

    def dispatch(self) -> None: ...
    def holds_publishers(self) -> bool: ...
    def hold_publisher(self, publisher: object, resume: Callable[[], None]) -> None: ...
    def forget_publisher(self, publisher: object) -> None: ...


class InputGate:
    """One connection's input gate and its run of undispatched queues."""

    __slots__ = (
        "_held_by",
        "_publisher",
        "_request_flush",
        "_resumed",
        "held",
        "pending",
        "shut",
        "throttle",
    )

    def __init__(
        self,
        throttle: PublisherThrottle,
        publisher: object,
        request_flush: Callable[[], None] = lambda: None,
    ) -> None:
        self.throttle = throttle
        self._publisher = publisher  # who queues hold (the connection)
        self._request_flush = request_flush
        self.held = False  # a reply waits for the disk
        self.shut = False  # input waits while the connection is open: any of the three
        self._held_by: set[FlowQueue] = set()
        self._resumed = False
        # Queues to dispatch at the end of the run of publishes and acks: published into?
        self.pending: dict[FlowQueue, bool] = {}

    def paused(self, connection_open: bool) -> bool:
        """Whether input waits unhandled (see the module doc for why ``connection_open``)."""
        return self.shut if connection_open else self.held

    @property
    def held_by_queues(self) -> bool:
        return bool(self._held_by)

    def _update(self) -> None:
        # (kept rather than computed: the session asks after every frame)
        self.shut = self.held or self.throttle.blocked or bool(self._held_by)

    # -- held commands --------------------------------------------------------------------------

    def hold(self) -> None:
        self.held = True
        self._update()
        self._request_flush()  # lets the transport pause reading

    def resume(self) -> None:
        """The reply that held the input went out: the caller handles the buffered input."""
        self.held = False
        self._update()

    # -- the publisher throttle ------------------------------------------------------------------

    def content_received(self) -> Method | None:
        """A content frame was handled: under an alarm the connection is now blocked
        (connection.blocked to send, if the client listens)."""
        blocked = self.throttle.content_received()
        self._update()
        return blocked

    def alarm_cleared(self) -> Method | None:
        """The alarm cleared: a blocked connection reads again (connection.unblocked to
        send, if it was told)."""
        unblocked = self.throttle.alarm_cleared()
        self._update()
        return unblocked

    # -- a run of publishes and acks ------------------------------------------------------------

    def dispatch_later(self, queues: Sequence[FlowQueue], published: bool = True) -> None:
        """A publish landed in ``queues`` (or, not ``published``, an ack freed room for their
        consumers): they dispatch once the run ends (``dispatch_pending``)."""
        pending = self.pending
        for queue in queues:
            if published or queue not in pending:
                pending[queue] = published

    def dispatch_pending(self) -> None:
        """The run ended: dispatch its queues; those published into and far behind their
        consumers now hold the input."""
        queues = list(self.pending.items())
        self.pending.clear()
        for queue, published in queues:
            queue.dispatch()
            if published and queue.holds_publishers():
                self._hold_for(queue)

    def _hold_for(self, queue: FlowQueue) -> None:
        if queue not in self._held_by:
            self._held_by.add(queue)
            self.shut = True
            queue.hold_publisher(self._publisher, partial(self._let_go, queue))

    def _let_go(self, queue: FlowQueue) -> None:
        # Called while the queue dispatches for another connection: the buffered input is
        # handled from the transport's next flush (take_resumed), not from here.
        self._held_by.discard(queue)
        self._update()
        if not self._held_by:
            self._resumed = True
            self._request_flush()

    def take_resumed(self) -> bool:
        """Whether the queues let go since the last call (the input is to be handled)."""
        resumed, self._resumed = self._resumed, False
        return resumed

    def forget(self) -> None:
        """The connection goes away: no queue holds it any more."""
        for queue in self._held_by:
            queue.forget_publisher(self._publisher)
        self._held_by.clear()
        self._update()
