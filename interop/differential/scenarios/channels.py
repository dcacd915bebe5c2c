"""Channels: open/close, numbering, channel_max, flow, and how errors are scoped."""

from __future__ import annotations

from typing import Any

from ..registry import scenario
from ..runner import Run
from ..wire import M


def _missing_queue_error(run: Run, channel: int = 1) -> Any:
    """A raw connection whose ``channel`` the broker has just closed (close-ok not sent)."""
    w = run.raw(channel)
    w.m(channel, M.queue_declare(run.queue(), passive=True))
    closing = w.next()
    assert closing.get("method") == "Channel.Close", closing
    return w


@scenario()
def open_close_reopen(run: Run) -> Any:
    """Client channel.close gets close-ok; the number can then be opened again."""
    w = run.raw(1)
    return [w.call(1, M.channel_close(200, "done")), w.call(1, M.channel_open())]


@scenario()
def open_twice(run: Run) -> Any:
    """channel.open on an open channel: 504 CHANNEL_ERROR (a connection error)."""
    w = run.raw(1)
    return w.call(1, M.channel_open())


@scenario()
def method_on_unopened_channel(run: Run) -> Any:
    """queue.declare on a channel never opened: 504 expected 'channel.open'."""
    w = run.raw(1)
    return w.call(5, M.queue_declare(run.queue()))


@scenario()
def close_on_unopened_channel(run: Run) -> Any:
    """channel.close on a channel never opened: 504."""
    w = run.raw(1)
    return w.call(7, M.channel_close())


@scenario()
def close_ok_on_unopened_channel(run: Run) -> Any:
    """channel.close-ok on a channel never opened: 504 expected 'channel.open'.

    (No connection.close right after it: RabbitMQ could then answer either one first.)"""
    w = run.raw(1)
    return w.call(3, M.channel_close_ok())


@scenario()
def method_after_close(run: Run) -> Any:
    """A method on a channel after close / close-ok: 504 expected 'channel.open'."""
    w = run.raw(1)
    w.ok(1, M.channel_close(), "Channel.CloseOk")
    return w.call(1, M.queue_declare(run.queue()))


@scenario()
def channel_max_limits_open_channels(run: Run) -> Any:
    """channel_max=2: a third open channel (any number) is 530 NOT_ALLOWED."""
    w = run.raw(None, channel_max=2)
    return [w.call(1, M.channel_open()), w.call(9, M.channel_open()), w.call(3, M.channel_open())]


@scenario()
def channel_max_counts_not_numbers(run: Run) -> Any:
    """channel_max=2 limits the count: 100 and 200 open, 100 closed, 300 opens fine."""
    w = run.raw(None, channel_max=2)
    w.open(100)
    w.open(200)
    w.ok(100, M.channel_close(), "Channel.CloseOk")
    return w.call(300, M.channel_open())


@scenario()
def highest_channel_number(run: Run) -> Any:
    """Channel 65535 can be opened (channel_max limits the count only)."""
    w = run.raw(None)
    return w.call(65535, M.channel_open())


@scenario()
def channel_open_on_channel_zero(run: Run) -> Any:
    """channel.open on channel 0: 504 unexpected method in connection state running."""
    w = run.raw(None)
    return w.call(0, M.channel_open())


@scenario()
def queue_method_on_channel_zero(run: Run) -> Any:
    """queue.declare on channel 0: 504."""
    w = run.raw(None)
    return w.call(0, M.queue_declare(run.queue()))


@scenario()
def connection_method_on_channel_one(run: Run) -> Any:
    """connection.open on channel 1: 503 COMMAND_INVALID."""
    w = run.raw(1)
    return w.call(1, M.connection_open())


@scenario()
def flow_active(run: Run) -> Any:
    """channel.flow active=true: flow-ok(active=true)."""
    w = run.raw(1)
    return w.call(1, M.channel_flow(True))


@scenario()
def flow_inactive_not_implemented(run: Run) -> Any:
    """channel.flow active=false: connection.close 540 NOT_IMPLEMENTED."""
    w = run.raw(1)
    return w.call(1, M.channel_flow(False))


@scenario()
def client_flow_ok_is_invalid(run: Run) -> Any:
    """An unsolicited channel.flow-ok from the client: 503 unimplemented method."""
    w = run.raw(1)
    return w.call(1, M.channel_flow_ok(True))


@scenario()
def methods_dropped_until_close_ok(run: Run) -> Any:
    """After the broker closes a channel, everything on it is dropped until close-ok."""
    w = _missing_queue_error(run)
    w.m(1, M.queue_declare(run.queue()))
    w.publish(1, "", "nowhere", b"dropped")
    w.m(1, M.channel_close_ok())
    return [w.call(1, M.channel_open()), w.probe(1)]


@scenario()
def open_before_close_ok(run: Run) -> Any:
    """channel.open on a channel the broker closed, before close-ok: 504 second open."""
    w = _missing_queue_error(run)
    return w.call(1, M.channel_open())


@scenario()
def crossing_closes(run: Run) -> Any:
    """Broker and client close a channel at once: close-ok, yet the broker still waits for
    the client's close-ok (a channel.open is a second open)."""
    w = _missing_queue_error(run)
    return [w.call(1, M.channel_close(200, "me too")), w.call(1, M.channel_open())]


@scenario()
def channel_error_leaves_other_channels(run: Run) -> Any:
    """A channel error closes only that channel: another channel keeps working."""
    w = run.raw(1)
    w.open(2)
    error = w.call(1, M.queue_declare(run.queue(), passive=True))
    return {"error": error, "other": w.probe(2), "reopened": w.call(1, M.channel_open())}


@scenario()
def connection_error_closes_everything(run: Run) -> Any:
    """A connection error closes the connection: close, then the socket is dropped."""
    w = run.raw(1)
    w.open(2)
    return {"error": w.call(2, M.channel_open()), "then": w.closed_silently(3.0)}


@scenario()
def pika_channel_error_scope(run: Run) -> Any:
    """pika: a channel error raises ChannelClosedByBroker; the connection stays usable."""
    import pika.exceptions  # noqa: PLC0415

    conn = run.pika()
    ch = conn.channel()
    try:
        ch.queue_declare(run.queue(), passive=True)
        error: Any = None
    except pika.exceptions.ChannelClosedByBroker as exc:
        error = [type(exc).__name__, exc.reply_code, exc.reply_text]
    other = conn.channel()
    declared = other.queue_declare(run.queue(), exclusive=True).method
    return {
        "error": error,
        "channel_open": ch.is_open,
        "connection_open": conn.is_open,
        "other": [declared.message_count, declared.consumer_count],
    }
