"""Policies made in the page take effect: a max-length policy created on the policies page
shows on the queue it matches (in the list and on its page) and is enforced on what pika
publishes; deleted from the page, it is gone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pika
import pytest
from webpage import css_string

from amqpbroker.embedded.broker import BrokerThread


@pytest.fixture
def policy_name(web_broker: BrokerThread, unique: Callable[[str], str]) -> Iterator[str]:
    name = unique("cap")
    yield name
    if any(p.name == name for p in _policies(web_broker)):
        web_broker.clear_policy(name)


def _policies(broker: BrokerThread) -> list[Any]:
    return list(broker.policies())


def test_a_policy_made_in_the_page_applies_to_a_queue(
    page: Any,
    pika_client: pika.BlockingConnection,
    policy_name: str,
    unique: Callable[[str], str],
) -> None:
    channel = pika_client.channel()
    queue = unique("capped")
    channel.queue_declare(queue)

    page.go("/admin/policies")
    page.heading("Policies")
    page.choose("select#policy-vhost", "/")
    page.type_into("input#policy-name", policy_name)
    page.type_into("input#policy-pattern", f"^{queue}$")
    page.choose("select#policy-apply-to", "queues")
    page.type_into("input#policy-priority", "1")
    page.type_into("textarea#policy-definition", "max-length=2")
    page.click("button#policy-save")

    assert "ok" in page.flash("Policy set")
    page.row(policy_name)
    page.screenshot("policies")

    for n in range(5):
        channel.basic_publish("", queue, f"m{n}".encode())
    assert channel.queue_declare(queue, passive=True).method.message_count == 2

    page.menu("Queues")
    page.type_into("input.filter", queue)
    page.wait_cell(queue, ".policy", policy_name)
    page.wait_cell(queue, ".total", "2")

    page.click_link(queue)
    page.heading(queue)
    page.wait_exact("#queue-policy", policy_name)
    page.wait_exact("#queue-total", "2")


def test_delete_a_policy_in_the_page(page: Any, web_broker: BrokerThread, policy_name: str) -> None:
    web_broker.set_policy(policy_name, "^nothing-matches$", {"max-length": 7})

    page.go("/admin/policies")
    page.heading("Policies")
    row = f"table.list tbody tr[data-name={css_string(policy_name)}]"
    page.click(f"{row} button.delete-policy")
    page.confirm()

    page.wait_gone(row)
    assert policy_name not in [p.name for p in _policies(web_broker)]
