"""The ``list_*`` commands: rows from the management API, printed as rabbitmqctl prints them
(banner, tab-separated header, rows; ``--formatter json``; ``-q``/``-s``).  A vhost that does
not exist lists nothing, with exit code 0, as rabbitmqctl does."""

from __future__ import annotations

from typing import Any

import click

from amqpbroker.api_client.settings import ManagementApiError

from .context import EX_USAGE, Ctl, ctl_command, fail, refused
from .listings import LISTINGS, Listing
from .output import json_rows, table


def list_command(name: str, listing: Listing) -> click.Command:
    def run(ctl: Ctl, columns: tuple[str, ...]) -> None:
        print_listing(ctl, name, listing, columns)

    run.__name__ = name
    run.__doc__ = f"{listing.banner.splitlines()[-1].format(vhost='VHOST')} [COLUMN...]: " + (
        ", ".join(listing.columns)
    )
    return click.command(name)(click.argument("columns", nargs=-1)(ctl_command(run)))


def print_listing(ctl: Ctl, name: str, listing: Listing, columns: tuple[str, ...]) -> None:
    unknown = [column for column in columns if column not in listing.columns]
    if unknown:
        fail(
            f"Info key(s) {','.join(unknown)} are not supported\n"
            f"Arguments given:\n\t{name} {' '.join(columns)}\n\n"
            f"Columns of {name}: {', '.join(listing.columns)}",
            EX_USAGE,
            inline=True,
            prefix="Error (argument validation):",
        )
    shown = columns or listing.default_columns
    ctl.banner(listing.banner.format(vhost=ctl.vhost))
    rows = [{c: listing.read(item, c) for c in shown} for item in _items(ctl, listing)]
    if ctl.formatter == "json":
        click.echo(json_rows(rows, shown), nl=False)
        return
    click.echo(table(rows, shown, ctl.header), nl=False)
    if not rows and listing.empty_line_when_none:
        click.echo("")


def _items(ctl: Ctl, listing: Listing) -> list[dict[str, Any]]:
    try:
        items = ctl.call("GET", listing.api_path(ctl.vhost))
    except ManagementApiError as error:
        if error.status == 404:  # no such vhost: rabbitmqctl lists nothing
            return []
        refused(error, {})
    return list(items or [])


LIST_COMMANDS = [list_command(name, listing) for name, listing in LISTINGS.items()]
