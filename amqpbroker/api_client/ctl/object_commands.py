"""Queues, connections and tracing: ``purge_queue``, ``delete_queue``, ``close_connection``,
``close_all_connections``, ``trace_on``, ``trace_off``, with rabbitmqctl 3.10.8's banners,
errors and exit codes.  A connection is named as ``list_connections name`` shows it (where
rabbitmqctl takes an Erlang pid)."""

from __future__ import annotations

from typing import Any

import click

from amqpbroker.api_client.settings import ManagementApiError, vhost_segment

from .context import EX_DATAERR, EX_UNAVAILABLE, EX_USAGE, Ctl, ctl_command, fail, refused


def _queue_path(ctl: Ctl, queue: str) -> str:
    return f"/queues/{vhost_segment(ctl.vhost)}/{vhost_segment(queue)}"


@click.command("purge_queue")
@click.argument("queue")
@ctl_command
def purge_queue(ctl: Ctl, queue: str) -> None:
    """Remove every ready message of a queue in the vhost (-p)."""
    ctl.banner(f"Purging queue '{queue}' in vhost '{ctl.vhost}' ...")
    try:
        ctl.call("DELETE", _queue_path(ctl, queue) + "/contents")
    except ManagementApiError as error:
        refused(error, {404: ("not_found", EX_UNAVAILABLE)})


@click.command("delete_queue")
@click.argument("queue")
@click.option("-e", "--if-empty", is_flag=True, help="Only if it has no messages.")
@click.option("-u", "--if-unused", is_flag=True, help="Only if it has no consumers.")
@ctl_command
def delete_queue(ctl: Ctl, queue: str, if_empty: bool, if_unused: bool) -> None:
    """Delete a queue in the vhost (-p); say how many ready messages went with it."""
    conditions = [
        c for c, on in (("if queue is empty", if_empty), ("if queue is unused", if_unused)) if on
    ]
    condition = " and ".join(conditions) + " " if conditions else ""
    ctl.banner(f"Deleting queue '{queue}' on vhost '{ctl.vhost}' {condition}...")
    found = _queue(ctl, queue)
    if if_empty and found.get("messages"):
        fail("Queue is not empty", EX_USAGE)
    if if_unused and found.get("consumers"):
        fail("Queue is in use", EX_USAGE)
    flags = "&".join(
        f for f, on in (("if-empty=true", if_empty), ("if-unused=true", if_unused)) if on
    )
    try:
        ctl.call("DELETE", _queue_path(ctl, queue) + (f"?{flags}" if flags else ""))
    except ManagementApiError as error:
        refused(error, {404: ("Queue not found", EX_USAGE), 400: ("Queue is not empty", EX_USAGE)})
    click.echo(
        f"Queue was successfully deleted with {found.get('messages_ready') or 0} ready messages"
    )


def _queue(ctl: Ctl, queue: str) -> dict[str, Any]:
    try:
        found: dict[str, Any] = ctl.call("GET", _queue_path(ctl, queue))
    except ManagementApiError as error:
        refused(error, {404: ("Queue not found", EX_USAGE)})
    return found


@click.command("close_connection")
@click.argument("connection")
@click.argument("explanation")
@ctl_command
def close_connection(ctl: Ctl, connection: str, explanation: str) -> None:
    """Close a connection (its name, as list_connections name shows it): the client gets
    320 CONNECTION_FORCED with the explanation."""
    ctl.banner(f"Closing connection {connection}, reason: {explanation}...")
    try:
        ctl.call("DELETE", f"/connections/{vhost_segment(connection)}", **{"X-Reason": explanation})
    except ManagementApiError as error:
        refused(error, {404: (f"Connection {connection} not found", EX_UNAVAILABLE)})


@click.command("close_all_connections")
@click.argument("explanation")
@click.option("--global", "everywhere", is_flag=True, help="In every vhost.")
@click.option("--per-connection-delay", type=int, default=0, hidden=True)
@click.option("--limit", type=int, default=0, help="At most this many (0: all).")
@ctl_command
def close_all_connections(
    ctl: Ctl, explanation: str, everywhere: bool, per_connection_delay: int, limit: int
) -> None:
    """Close every connection in the vhost (-p; --global: all vhosts)."""
    where = "" if everywhere else f" in vhost {ctl.vhost}"
    ctl.banner(f"Closing all connections{where}, reason: {explanation}...")
    path = "/connections" if everywhere else f"/vhosts/{vhost_segment(ctl.vhost)}/connections"
    try:
        connections = ctl.call("GET", path) or []
    except ManagementApiError as error:
        refused(error, {404: (f"Virtual host '{ctl.vhost}' does not exist", EX_DATAERR)})
    if limit:
        connections = connections[:limit]
    closed = 0
    for connection in connections:
        try:
            ctl.call(
                "DELETE",
                f"/connections/{vhost_segment(connection['name'])}",
                **{"X-Reason": explanation},
            )
            closed += 1
        except ManagementApiError as error:
            if error.status != 404:  # gone meanwhile
                refused(error, {})
    click.echo(f"Closed {closed} connections")


def _trace_command(name: str, on: bool) -> click.Command:
    @click.command(name)
    @ctl_command
    def trace(ctl: Ctl) -> None:
        ctl.banner(f'{"Starting" if on else "Stopping"} tracing for vhost "{ctl.vhost}" ...')
        try:
            ctl.call("GET", f"/vhosts/{vhost_segment(ctl.vhost)}")  # (a PUT would create it)
            ctl.call("PUT", f"/vhosts/{vhost_segment(ctl.vhost)}", {"tracing": on})
        except ManagementApiError as error:
            if error.status != 404:  # no such vhost: rabbitmqctl says it is done all the same
                refused(error, {})
        click.echo(f"Trace {'enabled' if on else 'disabled'} for vhost {ctl.vhost}")

    trace.help = f"Turn the firehose tracer {'on' if on else 'off'} for the vhost (-p)."
    return trace


OBJECT_COMMANDS = [
    purge_queue,
    delete_queue,
    close_connection,
    close_all_connections,
    _trace_command("trace_on", True),
    _trace_command("trace_off", False),
]
