"""The click options of every command that talks to a running broker's management API
(``--url``, ``--username``, ``--password``), and how those commands fail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from .settings import DEFAULT_URL, ENV_PASSWORD, ENV_URL, ENV_USERNAME, ApiSettings

F = TypeVar("F", bound=Callable[..., Any])


def management_api_options(command: F) -> F:
    """``--url/--username/--password``; unset ones come from the environment, then the
    defaults (``ApiSettings.resolve``)."""
    options = [
        click.option(
            "--url",
            default=None,
            help=f"The broker's management API [${ENV_URL}, else {DEFAULT_URL}].",
        ),
        click.option("--username", default=None, help=f"[${ENV_USERNAME}, else guest]"),
        click.option("--password", default=None, help=f"[${ENV_PASSWORD}, else guest]"),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def api_settings(url: str | None, username: str | None, password: str | None) -> ApiSettings:
    return ApiSettings.resolve(url, username, password)


def fail(message: str, exit_code: int) -> NoReturn:
    """End the command: ``Error: MESSAGE`` on stderr, ``exit_code``, no traceback."""
    click.echo(f"Error: {message}", err=True)
    click.get_current_context().exit(exit_code)
    raise AssertionError("unreachable")  # (Context.exit raises)
