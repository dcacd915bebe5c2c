"""What a user sees follows their tags and permissions, as RabbitMQ's page: a management
user gets no Admin menu and only the vhosts they may use; nothing the page asks for is
refused (no 403 in the console)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pika
import pytest

from amqpbroker.embedded.broker import BrokerThread


@pytest.fixture
def two_vhosts(web_broker: BrokerThread, unique: Callable[[str], str]) -> Iterator[tuple[str, str]]:
    mine, theirs = unique("mine"), unique("theirs")
    for vhost in (mine, theirs):
        web_broker.add_vhost(vhost)
        with pika.BlockingConnection(pika.URLParameters(web_broker.url_for(vhost))) as client:
            client.channel().queue_declare(f"q-in-{vhost}")
    yield mine, theirs
    for vhost in (mine, theirs):
        web_broker.delete_vhost(vhost)


def test_a_management_user_sees_no_admin_and_only_their_vhosts(
    anonymous_page: Any,
    web_broker: BrokerThread,
    two_vhosts: tuple[str, str],
    unique: Callable[[str], str],
) -> None:
    mine, theirs = two_vhosts
    user = unique("watcher")
    web_broker.add_user(user, "pw", tags="management")
    web_broker.set_permissions(user, ".*", ".*", ".*", vhost=mine)
    page = anonymous_page
    try:
        page.log_in(user, "pw")
        page.logged_in_as(user)

        assert "Admin" not in page.menu_texts()
        assert "Queues" in page.menu_texts()
        page.menu("Queues")
        page.row(f"q-in-{mine}")
        assert f"q-in-{theirs}" not in page.listed_names()
        assert f"q-in-{theirs}" not in page.find("table.list").text
        offered = [o.get_attribute("value") for o in page.find_all("select#queues-vhost option")]
        assert mine in offered, offered
        assert theirs not in offered, offered
        page.screenshot("queues-as-management-user")
    finally:
        page.forget_login()  # (no refresh as a deleted user)
        web_broker.delete_user(user)


def test_a_policymaker_sees_the_policies_page(
    anonymous_page: Any, web_broker: BrokerThread, unique: Callable[[str], str]
) -> None:
    user = unique("policymaker")
    web_broker.add_user(user, "pw", tags="policymaker")
    web_broker.set_permissions(user, ".*", ".*", ".*")
    page = anonymous_page
    try:
        page.log_in(user, "pw")
        page.logged_in_as(user)
        assert "Admin" in page.menu_texts()
        page.go("/admin/policies")
        page.heading("Policies")
        page.shown("form#policy-form")
    finally:
        page.forget_login()
        web_broker.delete_user(user)
