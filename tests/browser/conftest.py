"""Fixtures of the web page's browser tests: one headless Chromium for the whole run, one
broker (AMQP and management listeners on free ports) per test module, and ``page``: the
page freshly loaded and logged in as guest.  After every test the browser's console must
hold no error (a failed request, 401 and 404 included, is one).

A module's tests share its broker, so each names its objects after itself (``unique``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pika
import pytest
from headless_chromium import chromium, require_browser, screenshot_dir
from selenium.webdriver.remote.webdriver import WebDriver
from webpage import WebPage

from amqpbroker.embedded.broker import BrokerThread


@pytest.fixture(scope="session")
def driver() -> Iterator[WebDriver]:
    require_browser()
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def web_broker() -> Iterator[BrokerThread]:
    """The broker the page is served by; its rates sampled every second (RabbitMQ: 5 s) so
    that they show within a test's time."""
    with BrokerThread(management=True, stats_interval=1.0) as broker:
        yield broker


@pytest.fixture(scope="module")
def site(driver: WebDriver, web_broker: BrokerThread) -> Iterator[WebPage]:
    yield WebPage(driver, web_broker.management_url, screenshot_dir())
    # Leave the page before its broker stops, or its next refresh fails in the next module.
    driver.get("about:blank")
    driver.get_log("browser")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
    return report


CALL_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def anonymous_page(site: WebPage, request: pytest.FixtureRequest) -> Iterator[WebPage]:
    """The page freshly loaded, showing its login form; no console error by the end."""
    site.forget_login()
    site.console_errors()  # the log starts empty for this test
    yield site
    if request.node.stash.get(CALL_FAILED, False):
        shot = site.screenshot(f"failed-{request.node.name}")
        print(f"the page when the test failed: {shot}; its address: {site.driver.current_url}")
    errors = site.console_errors()
    assert not errors, f"the browser console logged errors: {errors}"


@pytest.fixture
def page(anonymous_page: WebPage) -> WebPage:
    """The page logged in as guest (administrator), at the overview."""
    anonymous_page.log_in("guest", "guest")
    anonymous_page.logged_in_as("guest")
    return anonymous_page


@pytest.fixture
def pika_client(web_broker: BrokerThread) -> Iterator[pika.BlockingConnection]:
    """A pika client of the page's broker, named as applications name theirs."""
    parameters = pika.URLParameters(web_broker.url)
    parameters.client_properties = {"connection_name": "browser-test-client"}
    connection = pika.BlockingConnection(parameters)
    yield connection
    if connection.is_open:
        connection.close()
