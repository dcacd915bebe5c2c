"""Long answers give the event loop back as they are built (``management/streaming.py``):
with slices of one item, other tasks on the broker's loop run between every two items of
``GET /api/queues``, of the definitions export and of a definitions import.  (How long a
slice takes is a timing, measured by ``amqpbroker bench --scenario management``, not
asserted here: with one item a slice the interleaving itself is what is checked.)"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from amqpbroker.embedded.broker import Broker
from amqpbroker.management.views import listing

QUEUES = 600


@pytest.fixture
async def broker(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Broker]:
    monkeypatch.setattr(listing, "SLICE_SECONDS", 0.0)  # one item a slice
    async with Broker(management=True) as running:
        yield running


class Ticker:
    """A task on the broker's loop that counts the loop's turns it gets."""

    def __init__(self) -> None:
        self.ticks = 0

    async def run(self) -> None:
        while True:
            self.ticks += 1
            await asyncio.sleep(0)

    async def during(self, request: Callable[[], Awaitable[Any]]) -> tuple[Any, int]:
        """``request``'s result, and how many turns the ticker got meanwhile."""
        task = asyncio.get_running_loop().create_task(self.run())
        await asyncio.sleep(0)
        before = self.ticks
        try:
            result = await request()
        finally:
            task.cancel()
        return result, self.ticks - before


def document() -> dict[str, Any]:
    names = [f"slice-{number:04d}" for number in range(QUEUES)]
    return {
        "queues": [
            {"name": n, "vhost": "/", "durable": True, "auto_delete": False, "arguments": {}}
            for n in names
        ],
        "bindings": [
            {
                "source": "amq.direct",
                "vhost": "/",
                "destination": n,
                "destination_type": "queue",
                "routing_key": n,
                "arguments": {},
            }
            for n in names
        ],
    }


async def call(broker: Broker, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()}
    async with aiohttp.ClientSession(headers=headers) as session:
        url = broker.management_url.rstrip("/") + path
        async with session.request(method, url, json=body) as response:
            payload = await response.json() if response.status == 200 else None
            return response.status, payload


async def imported(broker: Broker) -> int:
    """Import the document; the loop's turns other tasks got meanwhile."""
    (status, _), ticks = await Ticker().during(
        lambda: call(broker, "POST", "/api/definitions", document())
    )
    assert status == 204
    return ticks


async def test_an_import_applies_its_definitions_a_slice_at_a_time(broker: Broker) -> None:
    ticks = await imported(broker)
    assert ticks >= 2 * QUEUES  # a turn of the loop between two of its 1,200 definitions
    status, queues = await call(broker, "GET", "/api/queues/%2F?columns=name")
    assert status == 200
    assert [q["name"] for q in queues] == [f"slice-{n:04d}" for n in range(QUEUES)]


async def test_the_queue_list_is_written_as_it_is_built(broker: Broker) -> None:
    await imported(broker)
    (status, queues), ticks = await Ticker().during(lambda: call(broker, "GET", "/api/queues"))
    assert status == 200 and len(queues) == QUEUES
    assert ticks >= QUEUES
    assert all("message_stats" in queue and "messages" in queue for queue in queues)


async def test_a_sorted_page_is_collected_a_slice_at_a_time(broker: Broker) -> None:
    await imported(broker)
    path = "/api/queues?sort=name&sort_reverse=true&page=2&page_size=10&columns=name"
    (status, body), ticks = await Ticker().during(lambda: call(broker, "GET", path))
    assert status == 200 and ticks >= QUEUES
    expected = [f"slice-{n:04d}" for n in range(QUEUES - 11, QUEUES - 21, -1)]
    assert [item["name"] for item in body["items"]] == expected
    assert (body["total_count"], body["filtered_count"], body["page_count"]) == (600, 600, 60)


async def test_the_definitions_export_is_written_as_it_is_built(broker: Broker) -> None:
    await imported(broker)
    (status, exported), ticks = await Ticker().during(
        lambda: call(broker, "GET", "/api/definitions")
    )
    assert status == 200 and ticks >= 2 * QUEUES  # queues, then bindings
    assert exported["queues"] == document()["queues"]
    assert exported["bindings"] == document()["bindings"]
    assert exported["exchanges"] == [] and exported["rabbitmq_version"] == "3.10.8"
    (status, scoped), ticks = await Ticker().during(
        lambda: call(broker, "GET", "/api/definitions/%2F")
    )
    assert status == 200 and ticks >= 2 * QUEUES
    assert scoped["queues"] == [
        {k: v for k, v in queue.items() if k != "vhost"} for queue in document()["queues"]
    ]
    assert list(scoped) == [
        "rabbit_version",
        "parameters",
        "policies",
        "queues",
        "exchanges",
        "bindings",
    ]
