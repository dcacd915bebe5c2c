"""``amqpbroker definitions export FILE`` / ``import FILE``: a running broker's definitions
(RabbitMQ's definitions.json) through its management API, ``GET``/``POST
/api/definitions[/{vhost}]``, as ``rabbitmqadmin export/import`` and ``rabbitmqctl
export_definitions/import_definitions`` do.  ``-`` is stdout or stdin; what the command did is
said on stderr, so stdout holds only the definitions."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from .options import api_settings, fail, management_api_options
from .settings import ManagementApiError, vhost_segment

if TYPE_CHECKING:
    from .client import ManagementClient

EX_NOINPUT, EX_CANTCREAT = 66, 73
_VHOST = click.option(
    "--vhost", default=None, help="Only this vhost's definitions (RabbitMQ's per-vhost form)."
)


@click.group()
def definitions() -> None:
    """Export or import a running broker's definitions (users, vhosts, permissions,
    queues, exchanges, bindings, policies...) through its management API."""


@definitions.command("export")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@_VHOST
@management_api_options
def export_command(
    file: str, vhost: str | None, url: str | None, username: str | None, password: str | None
) -> None:
    """Write the definitions to FILE ('-': stdout)."""
    client = _client(url, username, password)
    document = _call(lambda: client.request("GET", _path(vhost)))
    if file == "-":
        sys.stdout.buffer.write(document + b"\n")
        sys.stdout.flush()
    else:
        try:
            Path(file).write_bytes(document)
        except OSError as error:
            fail(f"cannot write {file}: {error.strerror}", EX_CANTCREAT)
    click.echo(f"Exported definitions{_of(vhost)} from {client.settings.url} to {file}", err=True)


@definitions.command("import")
@click.argument("file", type=click.File("rb"))
@_VHOST
@management_api_options
def import_command(
    file: IO[bytes],
    vhost: str | None,
    url: str | None,
    username: str | None,
    password: str | None,
) -> None:
    """Import the definitions in FILE ('-': stdin) into the broker."""
    client = _client(url, username, password)
    try:
        document = file.read()
    except OSError as error:
        fail(f"cannot read {file.name}: {error.strerror}", EX_NOINPUT)
    _call(lambda: client.request("POST", _path(vhost), document))
    name = "stdin" if file.name == "<stdin>" else file.name
    click.echo(f"Imported definitions from {name} into {client.settings.url}{_of(vhost)}", err=True)


def _client(url: str | None, username: str | None, password: str | None) -> ManagementClient:
    from .client import ManagementClient  # noqa: PLC0415 (urllib.request: only when it runs)

    try:
        return ManagementClient(api_settings(url, username, password))
    except ManagementApiError as error:
        fail(str(error), error.exit_code)


def _call(request: Callable[[], bytes]) -> bytes:
    try:
        return request()
    except ManagementApiError as error:
        fail(str(error), error.exit_code)


def _path(vhost: str | None) -> str:
    """``/definitions``, or the per-vhost ``/definitions/{vhost}``."""
    return "/definitions" + (f"/{vhost_segment(vhost)}" if vhost is not None else "")


def _of(vhost: str | None) -> str:
    return "" if vhost is None else f" (vhost '{vhost}')"
