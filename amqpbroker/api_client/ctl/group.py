"""``amqpbroker ctl``: the click group of rabbitmqctl's commands.  Usage errors exit with 64
(rabbitmqctl's EX_USAGE, where click would use 2)."""

from __future__ import annotations

from typing import Any

import click

from amqpbroker.api_client.options import api_settings, management_api_options
from amqpbroker.api_client.settings import ManagementApiError

from .context import EX_USAGE, Ctl, apply_general_options, fail, general_options


class _UsageExits64(click.Group):
    """Usage errors (of the group or of a command) exit 64, not click's 2."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as error:
            error.exit_code = EX_USAGE  # type: ignore[misc]
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            error.exit_code = EX_USAGE  # type: ignore[misc]
            raise


@click.group("ctl", cls=_UsageExits64)
@management_api_options
@general_options
@click.pass_context
def ctl(
    context: click.Context,
    /,
    url: str | None,
    username: str | None,
    password: str | None,
    **general: Any,
) -> None:
    """rabbitmqctl's commands, against a running broker's management API.

    Output, banners and exit codes as rabbitmqctl 3.10.8's (0 ok, 64 usage, 65 bad data,
    67 no such user, 69 unavailable, 70 software error).  -p/-q/-s/--formatter go before or
    after the command's name."""
    try:
        settings = api_settings(url, username, password)
    except ManagementApiError as error:
        fail(str(error), EX_USAGE)
    context.obj = apply_general_options(Ctl(settings=settings), general)


def _register() -> None:
    from .access_commands import ACCESS_COMMANDS  # noqa: PLC0415
    from .list_commands import LIST_COMMANDS  # noqa: PLC0415
    from .node_commands import NODE_COMMANDS  # noqa: PLC0415
    from .object_commands import OBJECT_COMMANDS  # noqa: PLC0415

    for command in [*LIST_COMMANDS, *ACCESS_COMMANDS, *OBJECT_COMMANDS, *NODE_COMMANDS]:
        ctl.add_command(command)


_register()
