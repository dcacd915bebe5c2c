"""A connection's input is read for at most ``READ_TURN_SECONDS`` in one turn of the event
loop (``server/transport.py``): then its reading pauses until the next turn, so that a
flooding publisher cannot hold the loop (libuv would read its socket 32 times in a row).
Driven through ``AMQPProtocol`` with a transport that records what it is asked to do."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from amqpbroker.access.control import AccessControl
from amqpbroker.config import BrokerConfig
from amqpbroker.core.broker import BrokerState
from amqpbroker.server import transport as transport_module
from amqpbroker.server.transport import AMQPProtocol
from amqpbroker.session.throttle import ResourceAlarm

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"


class RecordingTransport:
    """What a socket's transport is asked: pauses, resumes, writes."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 5672)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        self.calls.append("pause")

    def resume_reading(self) -> None:
        self.calls.append("resume")

    def write(self, data: bytes) -> None:
        self.calls.append("write")

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True


async def connected(
    monkeypatch: pytest.MonkeyPatch, seconds: float
) -> tuple[AMQPProtocol, RecordingTransport]:
    monkeypatch.setattr(transport_module, "READ_TURN_SECONDS", seconds)
    protocol = AMQPProtocol(
        BrokerState(BrokerConfig()), AccessControl(), lambda p: None, ResourceAlarm()
    )
    transport = RecordingTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    return protocol, transport


def reading(calls: list[str]) -> list[str]:
    return [call for call in calls if call != "write"]


async def test_reading_pauses_for_the_rest_of_the_turn_once_its_time_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    protocol, transport = await connected(monkeypatch, 0.0)
    protocol.data_received(PROTOCOL_HEADER)  # (connection.start goes out)
    assert reading(transport.calls) == ["pause"]
    await asyncio.sleep(0)  # the next turn
    assert reading(transport.calls) == ["pause", "resume"]
    await asyncio.sleep(0)
    assert reading(transport.calls) == ["pause", "resume"]  # nothing read: nothing to undo
    for _ in range(2):
        protocol.data_received(b"")
        await asyncio.sleep(0)
    assert reading(transport.calls) == ["pause", "resume"] * 3
    protocol.connection_lost(None)


async def test_a_turn_with_time_left_keeps_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    protocol, transport = await connected(monkeypatch, 3600.0)
    protocol.data_received(PROTOCOL_HEADER)
    protocol.data_received(b"")
    await asyncio.sleep(0)
    assert reading(transport.calls) == []
    protocol.connection_lost(None)


async def test_a_closing_transport_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    protocol, transport = await connected(monkeypatch, 0.0)
    transport.closing = True
    protocol.data_received(PROTOCOL_HEADER)
    await asyncio.sleep(0)
    assert reading(transport.calls) == []
    protocol.connection_lost(None)
