"""The node: ``status``, ``ping``, ``await_startup``, ``export_definitions``,
``import_definitions``.  ``ping`` and ``await_startup`` answer as rabbitmq-diagnostics does
for health checks (0, or 69 when the broker does not answer); ``status`` prints the broker's
own figures (from ``/api/overview`` and ``/api/nodes``) under rabbitmqctl's headings."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from amqpbroker.api_client.settings import ManagementApiError

from .context import EX_DATAERR, EX_UNAVAILABLE, Ctl, ctl_command, fail, refused


@click.command("ping")
@ctl_command
def ping(ctl: Ctl) -> None:
    """Check that the broker answers (its management API, with these credentials)."""
    millis = int(ctl.timeout * 1000)
    ctl.banner(
        f"Will ping {ctl.node_name}. This only checks if the OS process is running and"
        f" registered with epmd. Timeout: {millis} ms."
    )
    if not _answers(ctl):
        fail(
            f"Failed to connect and authenticate to {ctl.node_name} in {millis} ms", EX_UNAVAILABLE
        )
    click.echo("Ping succeeded")


@click.command("await_startup")
@ctl_command
def await_startup(ctl: Ctl) -> None:
    """Wait (up to -t seconds) until the broker answers; nothing printed on success."""
    deadline = time.monotonic() + ctl.timeout
    while not _answers(ctl):
        if time.monotonic() >= deadline:
            fail(f"Timed out waiting for the node {ctl.node_name} to start", EX_UNAVAILABLE)
        time.sleep(0.2)  # polling a process that is starting: nothing to wait on but time


def _answers(ctl: Ctl) -> bool:
    try:
        ctl.client.get_json("/overview")
    except ManagementApiError as error:
        if error.status == 401:
            refused(error, {})
        return False
    return True


@click.command("status")
@ctl_command
def status(ctl: Ctl) -> None:
    """The broker's version, node, uptime, listeners, memory, alarms and totals."""
    overview: dict[str, Any] = _get(ctl, "/overview")
    node: dict[str, Any] = (_get(ctl, "/nodes") or [{}])[0]
    if ctl.formatter == "json":
        click.echo(json.dumps({"overview": overview, "node": node}, separators=(",", ":")))
        return
    ctl.banner(f"Status of node {overview.get('node', ctl.node_name)} ...")
    for heading, lines in _status_sections(overview, node):
        click.echo(f"{heading}\n")
        for line in lines:
            click.echo(line)
        click.echo("")


def _status_sections(overview: dict[str, Any], node: dict[str, Any]) -> list[tuple[str, list[str]]]:
    totals = overview.get("object_totals", {})
    listeners = overview.get("listeners", [])
    alarms = [
        n
        for n, on in (("memory", node.get("mem_alarm")), ("disk", node.get("disk_free_alarm")))
        if on
    ]
    return [
        (
            "Runtime",
            [
                f"OS PID: {node.get('os_pid', '')}",
                f"Uptime (seconds): {int(node.get('uptime', 0)) // 1000}",
                f"RabbitMQ version: {overview.get('rabbitmq_version', '')}",
                f"Node name: {overview.get('node', '')}",
                f"Product name: {overview.get('product_name', '')}",
                f"Product version: {overview.get('product_version', '')}",
            ],
        ),
        ("Alarms", [f"{alarm} resource alarm" for alarm in alarms] or ["(none)"]),
        (
            "Memory",
            [
                f"Total memory used: {node.get('mem_used', 0) / 1e9:.4f} gb",
                f"Calculation strategy: {node.get('mem_calculation_strategy', '')}",
                f"Memory high watermark setting: {node.get('mem_limit', 0) / 1e9:.4f} gb",
            ],
        ),
        ("Free Disk Space", [f"Disk free: {node.get('disk_free', 0) / 1e9:.4f} gb"]),
        (
            "Totals",
            [
                f"Connection count: {totals.get('connections', 0)}",
                f"Queue count: {totals.get('queues', 0)}",
                f"Channel count: {totals.get('channels', 0)}",
                f"Consumer count: {totals.get('consumers', 0)}",
            ],
        ),
        (
            "Listeners",
            [
                f"Interface: {listener.get('ip_address')}, port: {listener.get('port')},"
                f" protocol: {listener.get('protocol')}"
                for listener in listeners
            ],
        ),
    ]


def _get(ctl: Ctl, path: str) -> Any:
    try:
        return ctl.call("GET", path)
    except ManagementApiError as error:
        refused(error, {})


@click.command("export_definitions")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "file_format", type=click.Choice(["json"]), default="json")
@ctl_command
def export_definitions(ctl: Ctl, file: str, file_format: str) -> None:
    """Write the broker's definitions as JSON to FILE ('-': stdout)."""
    definitions = _get(ctl, "/definitions")
    text = json.dumps(definitions, separators=(",", ":"))
    if file == "-":
        click.echo(text)
        return
    ctl.banner(f'Exporting definitions in JSON to a file at "{file}" ...')
    try:
        Path(file).write_text(text)
    except OSError as error:
        fail(f"Failed to write to file {file}: {error.strerror}", EX_DATAERR)


@click.command("import_definitions")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "file_format", type=click.Choice(["json"]), default="json")
@ctl_command
def import_definitions(ctl: Ctl, file: str, file_format: str) -> None:
    """Import definitions (JSON) from FILE ('-': stdin)."""
    source = "standard input" if file == "-" else f'a file at "{file}"'
    ctl.banner(f"Importing definitions in JSON from {source} ...")
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text()
        document = json.loads(text)
    except OSError as error:
        fail(f"Failed to read from file {file}: {error.strerror}", EX_DATAERR)
    except ValueError:
        fail(f"Failed to decode JSON from {source}", EX_DATAERR)
    try:
        ctl.call("POST", "/definitions", document)
    except ManagementApiError as error:
        refused(error, {400: (str(error), EX_DATAERR)})
    click.echo(
        "Successfully started definition import. This process is asynchronous and can take"
        " some time."
    )


NODE_COMMANDS = [ping, await_startup, status, export_definitions, import_definitions]
