"""Logging in to the page as a person does: the form, its button or the Enter key; a wrong
password or a user without a management tag is turned away with RabbitMQ's text, and the
browser's console stays clean throughout (no 401 is ever requested)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from selenium.webdriver.common.keys import Keys

from amqpbroker.embedded.broker import BrokerThread


def test_login_with_the_button_shows_the_overview(anonymous_page: Any) -> None:
    page = anonymous_page
    assert page.find("input#username").get_attribute("name") == "username"
    assert page.find("input#password").get_attribute("type") == "password"
    assert page.text_of("button#login-button") == "Login"
    page.screenshot("login")

    page.log_in("guest", "guest")

    page.logged_in_as("guest")
    page.heading("Overview")
    assert page.menu_texts() == [
        "Overview",
        "Connections",
        "Channels",
        "Exchanges",
        "Queues",
        "Admin",
        "Trace",
    ]
    assert len(page.find_all("h1")) == 1


def test_login_with_the_enter_key(anonymous_page: Any) -> None:
    anonymous_page.log_in("guest", "guest", press_enter=True)
    anonymous_page.logged_in_as("guest")


def test_a_wrong_password_shows_the_error_and_no_console_error(anonymous_page: Any) -> None:
    page = anonymous_page
    page.log_in("guest", "not-the-password")

    page.wait_text("#login-error", "Login failed")
    assert page.login_form_shown()
    assert not page.find_all("nav#menu a")
    # (the fixture then checks the console: no 401 logged)


def test_a_user_without_a_management_tag_cannot_log_in(
    anonymous_page: Any, web_broker: BrokerThread, unique: Callable[[str], str]
) -> None:
    user = unique("plain")
    web_broker.add_user(user, "secret")
    try:
        anonymous_page.log_in(user, "secret", press_enter=True)
        anonymous_page.wait_text("#login-error", "Not management user")
        assert anonymous_page.login_form_shown()
    finally:
        web_broker.delete_user(user)


def test_logout_returns_to_the_login_form_and_forgets_the_password(page: Any) -> None:
    page.click("button#logout")
    page.shown("form#login")

    page.load()  # a reload does not log back in

    page.shown("form#login")
    assert not page.find_all("nav#menu a")


def test_the_console_check_sees_a_failed_request(page: Any) -> None:
    """The check every test ends with does catch errors: a request the API refuses (404)
    shows in the console as a SEVERE entry."""
    page.driver.execute_script("fetch('/api/no-such-route').catch(() => null)")
    errors = page.wait(page.console_errors, "the failed request in the console")
    assert any("404" in entry["message"] for entry in errors), errors


def test_the_favicon_is_served(page: Any) -> None:
    icon = page.find("link[rel~='icon']").get_attribute("href")
    status, kind = page.driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
           fetch(arguments[0]).then(r => done([r.status, r.headers.get('content-type')]));""",
        icon,
    )
    assert status == 200
    assert kind.startswith("image/")


def test_the_login_form_is_keyboard_friendly(anonymous_page: Any) -> None:
    """The username field has the focus, Tab goes on to the password, Enter logs in."""
    page = anonymous_page
    page.wait(
        lambda: page.driver.switch_to.active_element.get_attribute("id") == "username",
        "the username field to have the focus",
    )
    active = page.driver.switch_to.active_element
    active.send_keys("guest", Keys.TAB)
    active = page.driver.switch_to.active_element
    assert active.get_attribute("id") == "password"
    active.send_keys("guest", Keys.ENTER)
    page.logged_in_as("guest")
