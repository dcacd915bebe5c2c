"""The web page as the browser tests drive it: what a person does (log in, follow a link,
type, press a button, confirm) and what they look at, by the DOM contract the page keeps
(issue 16, contract C: ids, classes and texts).

Every wait is a ``WebDriverWait`` on a condition (the page refreshes itself, so elements are
looked up afresh on each poll); nothing sleeps for a fixed time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

T = TypeVar("T")

# Long enough for a loaded 2-core machine and the page's 5 s refresh; reached only on failure.
TIMEOUT = 20.0
RETRIED = (NoSuchElementException, StaleElementReferenceException)


def segment(name: str) -> str:
    """A route's path part as the page writes it (``/`` is ``%2F``)."""
    return quote(name, safe="")


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string (for ``[data-name=...]``)."""
    return json.dumps(text)


class WebPage:
    """One browser tab on one broker's management listener."""

    def __init__(self, driver: WebDriver, base_url: str, screenshots: Path) -> None:
        self.driver = driver
        self.base_url = base_url.rstrip("/") + "/"
        self.screenshots = screenshots

    # -- waiting ---------------------------------------------------------------------------

    def wait(self, check: Callable[[], T], what: str, timeout: float = TIMEOUT) -> T:
        """``check()``'s first truthy result; elements vanishing mid-check are retried."""
        waiting = WebDriverWait(
            self.driver, timeout, poll_frequency=0.05, ignored_exceptions=RETRIED
        )
        return waiting.until(lambda _driver: check(), message=f"waited {timeout} s for {what}")

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def shown(self, css: str, timeout: float = TIMEOUT) -> WebElement:
        """The element once it is displayed."""

        def visible() -> WebElement | None:
            element = self.find(css)
            return element if element.is_displayed() else None

        return self.wait(visible, f"{css} to be shown", timeout)

    def text_of(self, css: str) -> str:
        return self.find(css).text.strip()

    def wait_text(self, css: str, expected: str, timeout: float = TIMEOUT) -> WebElement:
        """The element once its text contains ``expected``."""

        def has_text() -> WebElement | None:
            element = self.find(css)
            return element if expected in element.text else None

        try:
            return self.wait(has_text, f"{css} to show {expected!r}", timeout)
        except Exception as failure:
            seen = [e.text for e in self.find_all(css)]
            raise AssertionError(f"{css} never showed {expected!r}: {seen}") from failure

    def wait_exact(self, css: str, expected: str, timeout: float = TIMEOUT) -> None:
        """Until the element's whole (stripped) text is ``expected``."""

        try:
            self.wait(lambda: self.text_of(css) == expected, f"{css} == {expected!r}", timeout)
        except Exception as failure:
            seen = [e.text for e in self.find_all(css)]
            raise AssertionError(f"{css} never read {expected!r}: {seen}") from failure

    def wait_gone(self, css: str, timeout: float = TIMEOUT) -> None:
        self.wait(lambda: not self.find_all(css), f"{css} to go", timeout)

    # -- navigating ------------------------------------------------------------------------

    def load(self, route: str = "/") -> None:
        """A fresh load of the page at ``#route`` (as typing the address and reloading: from
        the page itself, a new address that differs only by its hash is no new load)."""
        on_the_page = self.driver.current_url.startswith(self.base_url)
        self.driver.get(f"{self.base_url}#{route}")
        if on_the_page:
            self.driver.refresh()

    def go(self, route: str) -> None:
        """Follow an in-page route (the hash router), loading the page first if needed."""
        if not self.driver.current_url.startswith(self.base_url):
            self.load(route)
        else:
            self.driver.execute_script("window.location.hash = arguments[0]", route)

    def heading(self, expected: str) -> None:
        """Until the page's ``h1`` contains ``expected``."""
        self.wait_text("h1", expected)

    def menu(self, text: str) -> None:
        """Click the navigation link ``text`` (Overview, Queues, Admin, ...)."""
        self.shown("nav#menu").find_element(By.LINK_TEXT, text).click()

    def menu_texts(self) -> list[str]:
        return [a.text.strip() for a in self.find_all("nav#menu a") if a.text.strip()]

    def click_link(self, text: str) -> None:
        """Click the link whose whole text is ``text``: a queue or exchange name."""
        self.wait(lambda: self.driver.find_element(By.LINK_TEXT, text), f"link {text!r}").click()

    def click(self, css: str) -> None:
        self.shown(css).click()

    def confirm(self) -> None:
        """Accept the page's own confirmation dialog."""
        self.shown("dialog#confirm")
        self.click("#confirm-ok")
        self.wait(lambda: not self.find("dialog#confirm").is_displayed(), "the dialog to close")

    def section_titles(self) -> list[str]:
        """The page's ``h2`` titles (those of closed sections included)."""
        return [(h.get_attribute("textContent") or "").strip() for h in self.find_all("h2")]

    def open_section(self, title: str) -> None:
        """Open the section titled ``title`` if it is a closed ``details`` (as a click on its
        summary does); a plain ``section`` is always open."""
        summary = self.driver.execute_script(
            """const h = [...document.querySelectorAll('h2')]
                   .find(e => e.textContent.trim() === arguments[0]);
               const d = h && h.closest('details');
               return d && !d.open ? d.querySelector('summary') : null;""",
            title,
        )
        if summary is not None:
            summary.click()

    # -- forms -----------------------------------------------------------------------------

    def type_into(self, css: str, text: str) -> WebElement:
        element = self.shown(css)
        element.clear()
        element.send_keys(text)
        return element

    def choose(self, css: str, value: str) -> None:
        Select(self.shown(css)).select_by_value(value)

    def choose_text(self, css: str, text: str) -> None:
        Select(self.shown(css)).select_by_visible_text(text)

    def flash(self, expected: str = "") -> str:
        """Until ``#flash`` tells ``expected`` (anything, by default): its outcome's classes
        then (``flash ok`` or ``flash error``)."""
        self.wait(
            lambda: self.text_of("#flash") and expected in self.text_of("#flash"),
            f"#flash to tell {expected!r}",
        )
        outcome = self.find_all("#flash.flash, #flash .flash")
        return " ".join(e.get_attribute("class") or "" for e in outcome)

    # -- logging in ------------------------------------------------------------------------

    def login_form_shown(self) -> bool:
        return bool(self.find_all("form#login")) and self.find("form#login").is_displayed()

    def log_in(self, user: str, password: str, *, press_enter: bool = False) -> None:
        """Fill in the login form and submit it (its button, or Enter in the password)."""
        self.type_into("input#username", user)
        field = self.type_into("input#password", password)
        if press_enter:
            field.send_keys(Keys.ENTER)
        else:
            self.click("button#login-button")

    def logged_in_as(self, user: str) -> None:
        self.shown("nav#menu")
        self.wait_exact("#whoami", user)

    def forget_login(self) -> None:
        """A fresh page that remembers no login (sessionStorage cleared)."""
        self.load()
        self.driver.execute_script("window.sessionStorage.clear()")
        self.driver.refresh()
        self.shown("form#login")

    # -- lists -----------------------------------------------------------------------------

    def row(self, name: str) -> WebElement:
        """The list row of the object ``name`` once it is listed."""
        css = f"table.list tbody tr[data-name={css_string(name)}]"
        return self.wait(lambda: self.find(css), f"a row for {name!r}")

    def cell(self, name: str, css: str) -> str:
        row = f"table.list tbody tr[data-name={css_string(name)}]"
        return self.text_of(f"{row} {css}")

    def column(self, name: str, label: str) -> str:
        """The text in ``name``'s row under the heading ``label``."""
        labels = [th.text.strip() for th in self.find_all("table.list thead th")]
        row = f"table.list tbody tr[data-name={css_string(name)}]"
        return self.find_all(f"{row} > td")[labels.index(label)].text.strip()

    def wait_cell(self, name: str, css: str, expected: str) -> None:
        row = f"table.list tbody tr[data-name={css_string(name)}]"
        self.wait_exact(f"{row} {css}", expected)

    def listed_names(self) -> list[str]:
        return [
            r.get_attribute("data-name") or ""
            for r in self.find_all("table.list tbody tr[data-name]")
        ]

    # -- what the browser said -------------------------------------------------------------

    def console_errors(self) -> list[dict[str, Any]]:
        """The console's SEVERE entries since the last call (failed 4xx/5xx requests,
        uncaught exceptions, console.error): the log is drained by reading it."""
        return [e for e in self.driver.get_log("browser") if e.get("level") == "SEVERE"]

    def screenshot(self, name: str) -> Path:
        self.screenshots.mkdir(parents=True, exist_ok=True)
        path = self.screenshots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path
