"""The asyncio side of one connection: an ``asyncio.Protocol`` around ``ConnectionSession``.

Bytes from the socket go straight into the session; its output is written once per loop
tick (``_flush`` scheduled with ``call_soon``), so many deliveries leave as one write.
Timers here: the handshake deadline, heartbeats (ticks of ``session.heartbeat``'s state
machine: send when idle, drop the peer after two silent intervals) and the close-ok deadline
after the broker closed the connection.
Reading pauses while the session's input is paused (publishers blocked, a reply waiting for
the disk); like RabbitMQ we keep sending heartbeats then but stop expecting them.
It also pauses for the rest of the loop's turn once a connection has been read for
``READ_TURN_SECONDS`` in it: libuv reads a readable socket up to 32 times (256 KB each) in
one turn, so a publisher sending as fast as it can held the loop ~0.8 s at a time, and the
management API, timers and the other connections waited that long.
A test can mute heartbeats broker-wide (``HeartbeatSwitch``) to play a hung broker.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from amqpbroker.access.control import AccessControl
from amqpbroker.core.broker import BrokerState
from amqpbroker.core.ports import Clock, Timer
from amqpbroker.errors import AMQPError
from amqpbroker.protocol.framing import HEARTBEAT_FRAME
from amqpbroker.session.connection import ConnectionSession, shutdown_error
from amqpbroker.session.heartbeat import Beat, Heartbeat
from amqpbroker.session.throttle import ResourceAlarm

from .clock import LoopClock
from .listeners import PLAIN_LISTENER, Listener

log = logging.getLogger(__name__)

# How long one connection's input is handled in one turn of the loop before its reading
# waits for the next turn (a read of 256 KB of small publishes takes ~10-30 ms).
READ_TURN_SECONDS = 0.005


@dataclass
class HeartbeatSwitch:
    """Broker-wide: while ``dropped`` (fault injection) connections neither send heartbeats
    nor expect the peer's, as if the broker hung; other traffic still flows."""

    dropped: bool = False


class AMQPProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(
        self,
        broker: BrokerState,
        access: AccessControl,
        on_closed: Callable[[AMQPProtocol], None],
        alarm: ResourceAlarm,
        heartbeats: HeartbeatSwitch | None = None,
        wire_clock: Clock | None = None,
        listener: Listener = PLAIN_LISTENER,
        on_made: Callable[[AMQPProtocol], None] = lambda protocol: None,
    ) -> None:
        self._broker = broker
        self._listener = listener  # the socket it came in on: what the handshake offers
        self._on_made = on_made
        self._access = access
        self._alarm = alarm
        self._heartbeats = heartbeats or HeartbeatSwitch()
        self._on_closed = on_closed
        self._loop = asyncio.get_running_loop()
        # What the management API shows of the connection (``management/broker.py``).
        self.connected_at = 0.0  # epoch seconds
        self.local_address = ""  # "ip:port" it came in on
        self.ssl_object: Any = None
        self._transport: asyncio.Transport | None = None
        self._flush_scheduled = False
        self._timers: list[asyncio.TimerHandle] = []
        # Heartbeats run on the wire clock: real time (the loop's) even when the broker's
        # message timing is virtual, since clients send theirs in real time.
        self._wire_clock: Clock = wire_clock or LoopClock.running()
        self._heartbeat = Heartbeat(self._wire_clock.now())
        self._heartbeat_timer: Timer | None = None
        self._close_armed = False
        self._reading_paused = False  # the session's input is paused
        self._turn_started: float | None = None  # when this turn's reads began
        self._turn_paused = False  # reading waits for the next turn
        self._drop_scheduled = False
        self.session: ConnectionSession | None = None

    # -- asyncio.Protocol -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._on_made(self)
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        self.connected_at = time.time()
        self.local_address = f"{local[0]}:{local[1]}" if local else ""
        self.ssl_object = transport.get_extra_info("ssl_object")
        self.session = ConnectionSession(
            self._broker,
            self._access,
            self._schedule_flush,
            peer=f"{peer[0]}:{peer[1]}" if peer else "?",
            alarm=self._alarm,
            write_now=self._write_output,
            mechanisms=self._listener.mechanisms,
            certificate_name=self._listener.certificate_name(transport),
        )
        self.session.local_address = self.local_address
        self._heartbeat.sent(self._wire_clock.now())
        handshake_timeout = self._broker.config.handshake_timeout
        if math.isfinite(handshake_timeout):  # (rabbitmq.conf may say infinity)
            self._timers.append(self._loop.call_later(handshake_timeout, self._handshake_deadline))

    def data_received(self, data: bytes) -> None:
        session = self.session
        if session is None:
            return
        if self._turn_started is None:
            self._turn_started = time.perf_counter()
            self._loop.call_soon(self._next_turn)
        self._heartbeat.received()
        try:
            session.receive_data(data)
        except Exception:
            log.exception("internal error handling data from %s", session.peer)
            session.connection_lost()
        self._after_input(session)
        if time.perf_counter() - self._turn_started >= READ_TURN_SECONDS:
            self._pause_for_the_turn()

    def _pause_for_the_turn(self) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if not self._turn_paused and not self._reading_paused:
            self._turn_paused = True
            transport.pause_reading()

    def _next_turn(self) -> None:
        """(The loop's next turn.) Read again, unless the session's input is paused."""
        self._turn_started = None
        if not self._turn_paused:
            return
        self._turn_paused = False
        transport = self._transport
        if transport is not None and not self._reading_paused and not transport.is_closing():
            transport.resume_reading()

    def _after_input(self, session: ConnectionSession) -> None:
        self._flush()
        if session.heartbeat and self._heartbeat_timer is None:
            self._start_heartbeats(session.heartbeat)
        if session.closing:
            self._arm_close_deadline()

    def eof_received(self) -> bool | None:
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in self._timers:
            timer.cancel()
        if self._heartbeat_timer is not None:
            self._heartbeat_timer.cancel()
        session = self.session
        if session is not None:
            try:
                session.connection_lost()
            except Exception:
                log.exception("internal error releasing connection %s", session.peer)
        self._transport = None
        self._on_closed(self)

    def pause_writing(self) -> None:
        if self.session is not None:
            self.session.set_writable(False)

    def resume_writing(self) -> None:
        if self.session is not None:
            self.session.set_writable(True)
            self._flush()

    # -- output ---------------------------------------------------------------------------------

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _write_output(self) -> None:
        """Write the session's output now, in the middle of a tick (OUTPUT_EARLY_WRITE).
        A socket that cannot take it all pauses the session's deliveries (pause_writing)."""
        session, transport = self.session, self._transport
        if session is not None and transport is not None:
            self._send(transport, session.take_output())

    def _send(self, transport: asyncio.Transport, data: bytes) -> None:
        if data:
            transport.write(data)
            self._heartbeat.sent(self._wire_clock.now())

    def _flush(self) -> None:
        self._flush_scheduled = False
        session, transport = self.session, self._transport
        if session is None or transport is None:
            return
        session.resume_deferred_input()
        self._send(transport, session.data_to_send())
        if session.closed:
            self._drop(transport, session.close_delay)
        elif session.input_paused != self._reading_paused:
            self._reading_paused = session.input_paused
            if self._reading_paused:
                if not self._turn_paused:
                    transport.pause_reading()
            elif not self._turn_paused:  # (else the next turn resumes it)
                transport.resume_reading()

    # -- timers ---------------------------------------------------------------------------------

    def _handshake_deadline(self) -> None:
        session = self.session
        if (
            session is not None
            and session.vhost is None
            and not session.closed
            and self._transport is not None
        ):
            log.info("connection %s: handshake timeout", session.peer)
            self._transport.close()

    def _arm_close_deadline(self) -> None:
        if self._close_armed:
            return
        self._close_armed = True
        self._timers.append(self._loop.call_later(self._broker.config.close_timeout, self._abort))

    def _drop(self, transport: asyncio.Transport, delay: float) -> None:
        """Close now, or after ``delay`` with input ignored (a silent handshake failure)."""
        if not delay:
            transport.close()
        elif not self._drop_scheduled:
            self._drop_scheduled = True
            transport.pause_reading()
            self._timers.append(self._loop.call_later(delay, self._abort))

    def _abort(self) -> None:
        # abort, not close: close() would first wait for the output to drain, forever when
        # the peer has stopped reading its socket.
        if self._transport is not None:
            self._transport.abort()

    def _start_heartbeats(self, interval: int) -> None:
        """Tick every half interval (``session.heartbeat``: when to send, when to drop)."""
        self._heartbeat.start(interval)
        self._schedule_heartbeat_tick()

    def _schedule_heartbeat_tick(self) -> None:
        clock = self._wire_clock
        self._heartbeat_timer = clock.call_at(
            clock.now() + self._heartbeat.period, self._heartbeat_tick
        )

    def _heartbeat_tick(self) -> None:
        session, transport = self.session, self._transport
        if session is None or transport is None or session.closed:
            return
        beat = self._heartbeat.tick(
            self._wire_clock.now(), self._reading_paused, self._heartbeats.dropped
        )
        if beat is Beat.DROP:
            log.info("connection %s: missed heartbeats, closing", session.peer)
            transport.abort()
            return
        if beat is Beat.SEND:
            transport.write(HEARTBEAT_FRAME)
            session.sent(len(HEARTBEAT_FRAME))
        self._schedule_heartbeat_tick()

    # -- broker-wide events ---------------------------------------------------------------------

    def alarm_cleared(self) -> None:
        """The resource alarm cleared: a blocked publisher reads (and is handled) again."""
        session = self.session
        if session is None or self._transport is None:
            return
        try:
            session.alarm_cleared()  # handles the frames that waited
        except Exception:
            log.exception("internal error handling data from %s", session.peer)
            session.connection_lost()
        self._after_input(session)

    def buffered_bytes(self) -> int:
        """Bytes this connection holds on their way out: the session's output not yet
        written and the transport's buffer (the memory alarm counts them)."""
        transport, session = self._transport, self.session
        held = session.output_size if session is not None else 0
        if transport is not None:
            held += transport.get_write_buffer_size()
        return held

    # -- shutdown -------------------------------------------------------------------------------

    def force_close(self, reason: str) -> None:
        self.close_by_broker(shutdown_error(reason))

    def close_by_broker(self, error: AMQPError) -> None:
        """connection.close with ``error`` now, then the socket once the client answers (or
        after the close timeout), as on shutdown."""
        if self.session is None or self._transport is None:
            return
        self.session.close_by_broker(error)
        self._flush()
        self._arm_close_deadline()
