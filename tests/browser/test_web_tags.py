"""Every page the menu offers, walked by a user of each management tag: each shows its
title, and nothing the page requests is refused (a 403 would be a console error, which the
fixture checks at the end)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pika
import pytest

from amqpbroker.embedded.broker import BrokerThread

TITLES = {
    "Overview": "Overview",
    "Connections": "Connections",
    "Channels": "Channels",
    "Exchanges": "Exchanges",
    "Queues": "Queues",
    "Admin": "",  # its first tab: Users (administrators) or Policies (policymakers)
    "Trace": "Trace",
}


@pytest.mark.parametrize("tag", ["management", "policymaker", "monitoring", "administrator"])
def test_every_page_as_each_tag(
    anonymous_page: Any,
    web_broker: BrokerThread,
    pika_client: pika.BlockingConnection,
    unique: Callable[[str], str],
    tag: str,
) -> None:
    pika_client.channel().queue_declare(unique("seen"))
    user = unique(tag)
    web_broker.add_user(user, "pw", tags=tag)
    web_broker.set_permissions(user, ".*", ".*", ".*")
    page = anonymous_page
    try:
        page.log_in(user, "pw")
        page.logged_in_as(user)
        menu = page.menu_texts()
        assert menu[0] == "Overview", menu
        assert ("Admin" in menu) == (tag in ("administrator", "policymaker")), menu
        page.heading("Overview")
        page.wait(lambda: page.text_of("#updated"), "the overview's data loaded")
        for link in menu[1:]:
            # (#updated is written when a page's requests have all succeeded)
            page.driver.execute_script("document.getElementById('updated').textContent = ''")
            page.menu(link)
            page.heading(TITLES[link])
            page.wait(lambda: page.text_of("#updated"), f"{link}'s data loaded")
        page.forget_login()  # (the user goes next: no refresh as a deleted user)
    finally:
        web_broker.delete_user(user)
