"""How long the web page takes to show a broker with 10,000 queues, measured in headless
Chromium: from navigation start (``performance.now()``'s zero) to the overview's totals and
to the queues list's first page rendered, on a fresh load, and following the Queues link
and the next-page button inside the page.  Not a test (nothing to pass or fail): a figure,
printed.  ``make web-load-time``, or::

    .venv/bin/python tests/browser/load_time.py [--queues 10000] [--rounds 5]

The broker is embedded (a thread of this process, with its management listener); the
queues are declared by aio-pika on many channels at once (declarations pipelined)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import sys
import time
import urllib.request
from pathlib import Path

import aio_pika

sys.path.insert(0, str(Path(__file__).resolve().parent))

from headless_chromium import chromium, missing, screenshot_dir
from selenium.webdriver.remote.webdriver import WebDriver
from webpage import WebPage

from amqpbroker.embedded.broker import BrokerThread

CHANNELS = 50

# Installed before any page script runs: records when what a person waits for is on screen
# (performance.now(): milliseconds since navigation start).
MARKERS = r"""(() => {
window.__rendered = {};
const count = String(COUNT);
const digits = (text) => text.replace(/(\d)[\s,.\u202f\u00a0](?=\d{3})/g, '$1').trim();
const leafShows = (root) => root && [...root.querySelectorAll('*')].some(
  (e) => e.children.length === 0 && digits(e.textContent) === count);
const infoShows = (info) => info && digits(info.textContent).endsWith('of ' + count);
new MutationObserver(() => {
  const r = window.__rendered, now = performance.now();
  if (!r.overview && leafShows(document.querySelector('#totals'))) r.overview = now;
  const first = document.querySelector('table.list tbody tr[data-name]');
  if (!r.queues && first && first.dataset.name !== r.before
      && infoShows(document.querySelector('.page-info')))
    r.queues = now;
}).observe(document, {subtree: true, childList: true, characterData: true});
})();"""


async def declare_queues(url: str, count: int) -> float:
    """Declare ``count`` queues (``load-00000``...) over CHANNELS channels: seconds taken."""
    started = time.monotonic()
    connection = await aio_pika.connect(url)
    async with connection:
        channels = [await connection.channel() for _ in range(CHANNELS)]

        async def declare(channel: aio_pika.abc.AbstractChannel, names: range) -> None:
            for n in names:
                await channel.declare_queue(f"load-{n:05}")

        share = range(count)
        await asyncio.gather(*(declare(ch, share[i::CHANNELS]) for i, ch in enumerate(channels)))
    return time.monotonic() - started


def api_ms(base_url: str, path: str) -> float:
    request = urllib.request.Request(base_url.rstrip("/") + path)
    request.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=60) as reply:
        reply.read()
    return (time.monotonic() - started) * 1000


def rendered(driver: WebDriver, what: str, timeout: float = 60.0) -> float:
    """Milliseconds from navigation start until ``what`` was on screen."""
    page_time = None
    deadline = time.monotonic() + timeout
    while page_time is None:
        page_time = driver.execute_script(f"return (window.__rendered || {{}}).{what}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not rendered in {timeout} s")
        if page_time is None:
            time.sleep(0.05)  # polling the page's own record; the figure is taken in the page
    return float(page_time)


def in_page_ms(driver: WebDriver, page: WebPage, action: str, done: str) -> float:
    """Milliseconds from a click (``action``: a CSS selector or "nav:TEXT") until the page
    shows ``done``'s rows afresh."""
    driver.execute_script(
        """const first = document.querySelector('table.list tbody tr[data-name]');
           window.__rendered = {before: first ? first.dataset.name : null};"""
    )
    started = driver.execute_script("return performance.now()")
    if action.startswith("nav:"):
        page.menu(action[4:])
    else:
        page.click(action)
    return rendered(driver, done) - float(started)


def measure(broker: BrokerThread, count: int, rounds: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {
        "api_overview": [], "api_queues_page": [], "overview": [], "queues": [],
        "queues_via_link": [], "next_page": [],
    }  # fmt: skip
    with chromium() as driver:
        driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument",
            {"source": MARKERS.replace("COUNT", str(count))},
        )
        page = WebPage(driver, broker.management_url, screenshot_dir())
        page.forget_login()
        page.log_in("guest", "guest")
        page.logged_in_as("guest")
        for _ in range(rounds):
            base = broker.management_url
            figures["api_overview"].append(api_ms(base, "/api/overview"))
            figures["api_queues_page"].append(
                api_ms(base, "/api/queues?page=1&page_size=100&name=&use_regex=false")
            )
            page.load("/")
            figures["overview"].append(rendered(driver, "overview"))
            figures["queues_via_link"].append(in_page_ms(driver, page, "nav:Queues", "queues"))
            figures["next_page"].append(in_page_ms(driver, page, "button.page-next", "queues"))
            page.load("/queues")
            figures["queues"].append(rendered(driver, "queues"))
        page.screenshot("queues-10000")
        errors = page.console_errors()
    if errors:
        print(f"console errors: {errors}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queues", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    if reason := missing():
        sys.exit(reason)
    with BrokerThread(management=True) as broker:
        seconds = asyncio.run(declare_queues(broker.url, options.queues))
        print(f"{options.queues} queues declared in {seconds:.1f} s")
        figures = measure(broker, options.queues, options.rounds)
    print(f"{'ms, ' + str(options.rounds) + ' rounds':<44} {'min':>8} {'median':>8} {'max':>8}")
    labels = {
        "api_overview": "GET /api/overview (urllib)",
        "api_queues_page": "GET /api/queues?page=1&page_size=100 (urllib)",
        "overview": "fresh load -> overview totals shown",
        "queues": "fresh load -> queues list page 1 shown",
        "queues_via_link": "Queues link clicked -> list shown",
        "next_page": "next page clicked -> page 2 shown",
    }
    for key, label in labels.items():
        values = figures[key]
        print(f"{label:<44} {min(values):8.0f} {statistics.median(values):8.0f} {max(values):8.0f}")


if __name__ == "__main__":
    main()
