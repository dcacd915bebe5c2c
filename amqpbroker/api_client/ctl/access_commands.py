"""Vhosts, users, permissions and policies: ``add_vhost``, ``delete_vhost``, ``add_user``,
``delete_user``, ``change_password``, ``set_user_tags``, ``set_permissions``,
``clear_permissions``, ``set_topic_permissions``, ``clear_topic_permissions``,
``set_policy``, ``clear_policy``, ``set_operator_policy``, ``clear_operator_policy``: banners,
error texts and exit codes as rabbitmqctl 3.10.8's (tests/fixtures/rabbitmqctl-3.10.8.json)."""

from __future__ import annotations

import json
from typing import Any

import click

from amqpbroker.api_client.settings import EX_SOFTWARE, ManagementApiError, vhost_segment

from .context import (
    EX_DATAERR,
    EX_NOUSER,
    EX_UNAVAILABLE,
    EX_USAGE,
    Ctl,
    ctl_command,
    fail,
    refused,
)


def _user_path(user: str) -> str:
    return f"/users/{vhost_segment(user)}"


def _no_user(user: str, quoted: bool = True) -> dict[int, tuple[str, int]]:
    shown = f'"{user}"' if quoted else user
    return {
        404: (f"User {shown} does not exist", EX_NOUSER),
        400: (f"User {shown} does not exist", EX_NOUSER),
    }


def _existing_user(ctl: Ctl, user: str, quoted: bool = True) -> dict[str, Any]:
    try:
        found: dict[str, Any] = ctl.call("GET", _user_path(user))
    except ManagementApiError as error:
        refused(error, _no_user(user, quoted))
    return found


def _do(
    ctl: Ctl,
    method: str,
    path: str,
    body: Any,
    answers: dict[int, tuple[str, int]],
    missing_is_done: bool = False,
) -> None:
    try:
        ctl.call(method, path, body)
    except ManagementApiError as error:
        if not (missing_is_done and error.status == 404):
            refused(error, answers)


@click.command("add_vhost")
@click.argument("vhost_name")
@click.option("--description", default=None)
@click.option("--tags", default=None, help="Comma-separated.")
@click.option("--default-queue-type", default=None)
@ctl_command
def add_vhost(
    ctl: Ctl,
    vhost_name: str,
    description: str | None,
    tags: str | None,
    default_queue_type: str | None,
) -> None:
    """Create a vhost (an existing one is left as it is)."""
    ctl.banner(f'Adding vhost "{vhost_name}" ...')
    body = {"description": description, "tags": tags, "default_queue_type": default_queue_type}
    _do(
        ctl,
        "PUT",
        f"/vhosts/{vhost_segment(vhost_name)}",
        {k: v for k, v in body.items() if v is not None},
        {},
    )


@click.command("delete_vhost")
@click.argument("vhost_name")
@ctl_command
def delete_vhost(ctl: Ctl, vhost_name: str) -> None:
    """Delete a vhost and everything in it."""
    ctl.banner(f'Deleting vhost "{vhost_name}" ...')
    try:
        ctl.call("DELETE", f"/vhosts/{vhost_segment(vhost_name)}")
    except ManagementApiError as error:
        if error.status == 404:
            fail(f"Virtual host '{vhost_name}' does not exist", EX_DATAERR, prefix="")
        refused(error, {})


@click.command("add_user")
@click.argument("username")
@click.argument("password", required=False)
@ctl_command
def add_user(ctl: Ctl, username: str, password: str | None) -> None:
    """Create a user with a password."""
    ctl.banner(f'Adding user "{username}" ...')
    if password is None:
        click.echo("Password: ")
        fail("Password is not provided via argument or stdin", EX_DATAERR)
    try:
        ctl.call("GET", _user_path(username))
    except ManagementApiError as error:
        if error.status != 404:
            refused(error, {})
    else:
        fail(f'User "{username}" already exists', EX_SOFTWARE)
    _do(ctl, "PUT", _user_path(username), {"password": password, "tags": ""}, {})
    click.echo(
        "Done. Don't forget to grant the user permissions to some virtual hosts!"
        " See 'rabbitmqctl help set_permissions' to learn more."
    )


@click.command("delete_user")
@click.argument("username")
@ctl_command
def delete_user(ctl: Ctl, username: str) -> None:
    """Delete a user (and its permissions)."""
    ctl.banner(f'Deleting user "{username}" ...')
    _do(ctl, "DELETE", _user_path(username), None, _no_user(username))


@click.command("change_password")
@click.argument("username")
@click.argument("password")
@ctl_command
def change_password(ctl: Ctl, username: str, password: str) -> None:
    """Set a user's password (its tags are kept)."""
    ctl.banner(f'Changing password for user "{username}" ...')
    user = _existing_user(ctl, username)
    body = {"password": password, "tags": ",".join(_tag_list(user.get("tags")))}
    _do(ctl, "PUT", _user_path(username), body, _no_user(username))


@click.command("set_user_tags")
@click.argument("username")
@click.argument("tags", nargs=-1)
@ctl_command
def set_user_tags(ctl: Ctl, username: str, tags: tuple[str, ...]) -> None:
    """Replace a user's tags (none: no tags)."""
    ctl.banner(f'Setting tags for user "{username}" to [{", ".join(tags)}] ...')
    user = _existing_user(ctl, username)
    body = {"tags": ",".join(tags), "password_hash": user.get("password_hash", "")}
    if user.get("hashing_algorithm"):
        body["hashing_algorithm"] = user["hashing_algorithm"]
    _do(ctl, "PUT", _user_path(username), body, _no_user(username))


def _tag_list(tags: Any) -> list[str]:
    return [t for t in tags.split(",") if t] if isinstance(tags, str) else list(tags or [])


@click.command("set_permissions")
@click.argument("username")
@click.argument("conf")
@click.argument("write")
@click.argument("read")
@ctl_command
def set_permissions(ctl: Ctl, username: str, conf: str, write: str, read: str) -> None:
    """Grant a user configure/write/read patterns in the vhost (-p)."""
    ctl.banner(f'Setting permissions for user "{username}" in vhost "{ctl.vhost}" ...')
    _existing_user(ctl, username, quoted=False)
    body = {"configure": conf, "write": write, "read": read}
    _do(ctl, "PUT", _permission_path(ctl, username), body, _no_vhost(ctl))


@click.command("clear_permissions")
@click.argument("username")
@ctl_command
def clear_permissions(ctl: Ctl, username: str) -> None:
    """Remove a user's permissions in the vhost (-p)."""
    ctl.banner(f'Clearing permissions for user "{username}" in vhost "{ctl.vhost}" ...')
    _existing_user(ctl, username, quoted=False)
    _do(ctl, "DELETE", _permission_path(ctl, username), None, {}, missing_is_done=True)


@click.command("set_topic_permissions")
@click.argument("username")
@click.argument("exchange")
@click.argument("write")
@click.argument("read")
@ctl_command
def set_topic_permissions(ctl: Ctl, username: str, exchange: str, write: str, read: str) -> None:
    """Grant a user write/read routing-key patterns on a topic exchange in the vhost (-p)."""
    ctl.banner(
        f'Setting topic permissions on "{exchange}" for user "{username}"'
        f' in vhost "{ctl.vhost}" ...'
    )
    _existing_user(ctl, username, quoted=False)
    body = {"exchange": exchange, "write": write, "read": read}
    _do(ctl, "PUT", _permission_path(ctl, username, "topic-permissions"), body, _no_vhost(ctl))


@click.command("clear_topic_permissions")
@click.argument("username")
@click.argument("exchange", required=False)
@ctl_command
def clear_topic_permissions(ctl: Ctl, username: str, exchange: str | None) -> None:
    """Remove a user's topic permissions in the vhost (-p)."""
    ctl.banner(f'Clearing topic permissions for user "{username}" in vhost "{ctl.vhost}" ...')
    _existing_user(ctl, username)
    path = _permission_path(ctl, username, "topic-permissions")
    if exchange is not None:
        path += f"/{vhost_segment(exchange)}"
    _do(ctl, "DELETE", path, None, {}, missing_is_done=True)


def _permission_path(ctl: Ctl, username: str, kind: str = "permissions") -> str:
    return f"/{kind}/{vhost_segment(ctl.vhost)}/{vhost_segment(username)}"


def _no_vhost(ctl: Ctl) -> dict[int, tuple[str, int]]:
    """What rabbitmqctl says when set_permissions names a vhost that does not exist."""
    message = (f"Virtual host {ctl.vhost} does not exist", EX_UNAVAILABLE)
    return {404: message, 400: message}


def _policy_command(kind: str, path: str, shown: str) -> click.Command:
    @click.command(f"set_{kind}")
    @click.argument("name")
    @click.argument("pattern")
    @click.argument("definition")
    @click.option("--priority", type=int, default=0)
    @click.option("--apply-to", type=click.Choice(["all", "queues", "exchanges"]), default="all")
    @ctl_command
    def set_command(
        ctl: Ctl, name: str, pattern: str, definition: str, priority: int, apply_to: str
    ) -> None:
        ctl.banner(
            f'Setting {shown} "{name}" for pattern "{pattern}" to "{definition}"'
            f' with priority "{priority}" for vhost "{ctl.vhost}" ...'
        )
        try:
            parsed = json.loads(definition)
        except ValueError:
            fail(f"JSON decoding error: {definition}", EX_USAGE)
        body = {
            "pattern": pattern,
            "definition": parsed,
            "priority": priority,
            "apply-to": apply_to,
        }
        _do(ctl, "PUT", f"/{path}/{vhost_segment(ctl.vhost)}/{vhost_segment(name)}", body, {})

    set_command.help = f"Set a {shown} on the vhost (-p)."
    return set_command


def _clear_policy_command(kind: str, path: str, shown: str) -> click.Command:
    @click.command(f"clear_{kind}")
    @click.argument("name")
    @ctl_command
    def clear_command(ctl: Ctl, name: str) -> None:
        ctl.banner(f'Clearing {shown} "{name}" on vhost "{ctl.vhost}" ...')
        answers = {404: ("Parameter does not exist", EX_UNAVAILABLE)}
        _do(
            ctl,
            "DELETE",
            f"/{path}/{vhost_segment(ctl.vhost)}/{vhost_segment(name)}",
            None,
            answers,
        )

    clear_command.help = f"Remove a {shown} from the vhost (-p)."
    return clear_command


ACCESS_COMMANDS = [
    add_vhost,
    delete_vhost,
    add_user,
    delete_user,
    change_password,
    set_user_tags,
    set_permissions,
    clear_permissions,
    set_topic_permissions,
    clear_topic_permissions,
    _policy_command("policy", "policies", "policy"),
    _clear_policy_command("policy", "policies", "policy"),
    _policy_command("operator_policy", "operator-policies", "operator policy override"),
    _clear_policy_command("operator_policy", "operator-policies", "operator policy"),
]
