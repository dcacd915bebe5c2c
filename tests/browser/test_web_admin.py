"""The admin pages as an administrator uses them: a virtual host and a user added in the
page, the user given permissions there, and then really able to use it (pika connects to
the new vhost as the new user) and to log in to the page.  (These forms' ids are the
page's own, beyond contract C.)"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pika
import pytest
from webpage import segment

from amqpbroker.embedded.broker import BrokerThread


@pytest.fixture
def names(web_broker: BrokerThread, unique: Callable[[str], str]) -> Iterator[tuple[str, str]]:
    vhost, user = unique("team"), unique("alice")
    yield vhost, user
    if user in [u.name for u in web_broker.users]:
        web_broker.delete_user(user)
    if vhost in web_broker.vhosts:
        web_broker.delete_vhost(vhost)


def test_add_a_vhost_and_a_user_with_permissions_in_the_page(
    page: Any, web_broker: BrokerThread, names: tuple[str, str]
) -> None:
    vhost, user = names
    page.go("/admin/vhosts")
    page.heading("Virtual Hosts")
    page.open_section("Add a virtual host")
    page.type_into("input#new-vhost-name", vhost)
    page.type_into("input#new-vhost-description", "made in the page")
    page.find("form#add-vhost button[type=submit]").click()
    assert "ok" in page.flash("Virtual host added")
    page.row(vhost)

    page.menu("Admin")
    page.go("/admin/users")
    page.heading("Users")
    page.open_section("Add a user")
    page.type_into("input#new-user-name", user)
    page.type_into("input#new-user-password", "s3cret")
    page.type_into("input#new-user-tags", "management")
    page.find("form#add-user button[type=submit]").click()
    assert "ok" in page.flash("User added")
    page.row(user)
    page.screenshot("user-added")

    page.click_link(user)
    page.heading(user)
    page.open_section("Set permission")
    page.choose("select#permission-vhost", vhost)
    page.find("form#set-permission button[type=submit]").click()
    assert "ok" in page.flash("Permission set")

    url = f"amqp://{user}:s3cret@{web_broker.host}:{web_broker.port}/{segment(vhost)}"
    with pika.BlockingConnection(pika.URLParameters(url)) as connection:
        connection.channel().queue_declare("made-by-alice")

    page.forget_login()
    page.log_in(user, "s3cret")
    page.logged_in_as(user)
    page.menu("Queues")
    page.row("made-by-alice")
    page.forget_login()  # (the user goes next: no refresh as a deleted user)
