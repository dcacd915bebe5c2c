"""What every ``amqpbroker ctl`` command shares: rabbitmqctl's general options (accepted
before or after the command name), the client, the banner, and failing as rabbitmqctl fails
(``Error:`` then the reason on stderr; RabbitMQ's exit code)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar
from urllib.parse import urlsplit

import click

from amqpbroker.api_client.settings import ApiSettings, ManagementApiError

if TYPE_CHECKING:
    from amqpbroker.api_client.client import ManagementClient

F = TypeVar("F", bound=Callable[..., Any])
EX_USAGE, EX_DATAERR, EX_NOUSER, EX_UNAVAILABLE = 64, 65, 67, 69


@dataclass
class Ctl:
    """The options in effect for one run (group options, overridden by the command's)."""

    settings: ApiSettings = field(default_factory=ApiSettings)
    vhost: str = "/"
    quiet: bool = False
    silent: bool = False
    no_table_headers: bool = False
    formatter: str = "table"
    node: str | None = None
    timeout: float = 60.0
    _client: ManagementClient | None = None

    @property
    def client(self) -> ManagementClient:
        if self._client is None:
            from amqpbroker.api_client.client import ManagementClient  # noqa: PLC0415 (urllib: only when it runs)

            self._client = ManagementClient(replace(self.settings, timeout=self.timeout))
        return self._client

    @property
    def node_name(self) -> str:
        """``-n`` as given, else ``rabbit@HOST`` of the API's URL."""
        return self.node or f"rabbit@{urlsplit(self.settings.url).hostname or 'localhost'}"

    @property
    def header(self) -> bool:
        return not (self.silent or self.no_table_headers)

    def banner(self, text: str) -> None:
        """An informational line: stdout, unless ``-q``/``-s`` or a JSON formatter."""
        if not (self.quiet or self.silent or self.formatter == "json"):
            click.echo(text)

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        """The request's JSON answer; an unreachable API ends the command with 69."""
        try:
            return self.client.request_json(method, path, body, headers or None)
        except ManagementApiError as error:
            if error.status is None:
                unreachable(self, str(error))
            raise


def unreachable(ctl: Ctl, why: str) -> NoReturn:
    fail(
        f"unable to perform an operation on node '{ctl.node_name}'."
        f" Please see diagnostics information and suggestions below.\n\n{why}",
        EX_UNAVAILABLE,
        inline=True,
    )


def fail(message: str, exit_code: int, inline: bool = False, prefix: str = "Error:") -> NoReturn:
    """End as rabbitmqctl ends a failed command: ``Error:`` and the reason on stderr."""
    if prefix:
        message = f"{prefix} {message}" if inline else f"{prefix}\n{message}"
    click.echo(message, err=True)
    sys.stdout.flush()
    click.get_current_context().exit(exit_code)
    raise AssertionError("unreachable")  # (Context.exit raises)


def refused(error: ManagementApiError, answers: dict[int, tuple[str, int]]) -> NoReturn:
    """The error rabbitmqctl prints for the API's ``status`` (``answers``: status ->
    (message, exit code)), else the API's own reason and the client's code (77 refused
    credentials, 65 a refused request, 70 anything else)."""
    if error.status in answers:
        message, code = answers[error.status]
        fail(message, code)
    fail(str(error), error.exit_code)


def _general_options() -> list[Callable[[F], F]]:
    return [
        click.option("-p", "--vhost", default=None, help="The vhost [/]."),
        click.option("-q", "--quiet", is_flag=True, default=None, help="No banner."),
        click.option("-s", "--silent", is_flag=True, default=None, help="No banner nor header."),
        click.option("--no-table-headers", is_flag=True, default=None, help="No header line."),
        click.option(
            "--formatter",
            type=click.Choice(["table", "json"]),
            default=None,
            help="table (tab-separated, rabbitmqctl's default) or json.",
        ),
        click.option("-n", "--node", default=None, help="Shown as the node's name (ping)."),
        click.option("-t", "--timeout", type=float, default=None, help="Seconds [60]."),
        click.option("-l", "--longnames", is_flag=True, default=None, hidden=True),
    ]


def general_options(command: F) -> F:
    for option in reversed(_general_options()):
        command = option(command)
    return command


def apply_general_options(ctl: Ctl, options: dict[str, Any]) -> Ctl:
    """``ctl`` with the options given (not None) set; the others left as they were."""
    options.pop("longnames", None)
    for name, value in options.items():
        if value is not None:
            setattr(ctl, name, value)
    return ctl


def ctl_command(function: Callable[..., None]) -> Callable[..., None]:
    """A command's function called with the ``Ctl`` first, its own general options applied."""

    @general_options
    @click.pass_context
    def run(context: click.Context, /, **arguments: Any) -> None:
        ctl: Ctl = context.find_object(Ctl) or Ctl()
        general = {name: arguments.pop(name) for name in _GENERAL if name in arguments}
        function(apply_general_options(ctl, general), **arguments)

    run.__name__ = function.__name__
    run.__doc__ = function.__doc__
    return run


_GENERAL = (
    "vhost",
    "quiet",
    "silent",
    "no_table_headers",
    "formatter",
    "node",
    "timeout",
    "longnames",
)
