"""Debian's headless Chromium under Selenium, for the web page's browser tests.

The browser and its driver are the system's (``apt-get install chromium chromium-driver``,
which ``make test`` and ``.ci/run`` do where they can: tests/browser/install-chromium.sh);
they are handed to Selenium by path so that Selenium Manager never looks for (or downloads)
a browser of its own.  ``AMQPBROKER_CHROMIUM`` / ``AMQPBROKER_CHROMEDRIVER`` point elsewhere.

Where they are missing the browser tests skip, saying how to install them; with
``AMQPBROKER_BROWSER_REQUIRED=1`` (CI) they fail instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = os.environ.get("AMQPBROKER_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("AMQPBROKER_CHROMEDRIVER", "/usr/bin/chromedriver")
REQUIRED = os.environ.get("AMQPBROKER_BROWSER_REQUIRED") == "1"
WINDOW = (1280, 900)

# Headless, and quiet: no sandbox (CI runs as root in a container), no GPU, and nothing that
# talks to the network on its own (updates, sync, field trials, QUIC probes).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
)

HOW_TO_INSTALL = (
    "the browser tests need Debian's headless Chromium: "
    "`sudo apt-get install chromium chromium-driver` (or set AMQPBROKER_CHROMIUM and "
    "AMQPBROKER_CHROMEDRIVER to a Chromium and its matching chromedriver)"
)


def missing() -> str | None:
    """Why no browser can be started here (None when one can)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return f"{path} not found: {HOW_TO_INSTALL}"
    return None


def require_browser() -> None:
    """Skip (fail, under AMQPBROKER_BROWSER_REQUIRED=1) when no browser can be started."""
    reason = missing()
    if reason is None:
        return
    if REQUIRED:
        pytest.fail(f"AMQPBROKER_BROWSER_REQUIRED=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@contextmanager
def chromium() -> Iterator[webdriver.Chrome]:
    """A new headless Chromium with its own fresh profile, quit (and the profile removed) on
    exit.  Its console (``driver.get_log("browser")``) keeps every level, failed requests
    included."""
    profile = tempfile.mkdtemp(prefix="amqpbroker-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        driver.set_window_size(*WINDOW)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot_dir() -> Path:
    """Where the tests write their screenshots: ``build/screenshots/`` (git-ignored) unless
    ``AMQPBROKER_SCREENSHOTS`` says otherwise."""
    default = Path(__file__).resolve().parents[2] / "build" / "screenshots"
    return Path(os.environ.get("AMQPBROKER_SCREENSHOTS", default))
