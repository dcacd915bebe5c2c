"""The steps both CLIs run, in order, with what is set up over the management API between
them (queues, a binding, messages: neither CLI declares queues).  Every object is named
``ctl-...`` and removed by the last steps."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

VHOST = "ctl-v"
V = ["-p", VHOST]

# (step id, the CLI's arguments after the node/URL options)
BEFORE_QUEUES: list[tuple[str, list[str]]] = [
    ("add_vhost", ["add_vhost", VHOST]),
    ("add_vhost_again", ["add_vhost", VHOST]),
    ("add_user", ["add_user", "ctl-u", "ctl-pass"]),
    ("add_user_again", ["add_user", "ctl-u", "ctl-pass"]),
    ("set_permissions", ["set_permissions", *V, "ctl-u", ".*", ".*", ".*"]),
    ("set_permissions_guest", ["set_permissions", *V, "guest", ".*", ".*", ".*"]),
    ("set_permissions_missing_user", ["set_permissions", *V, "ctl-nouser", ".*", ".*", ".*"]),
    ("set_topic_permissions", ["set_topic_permissions", *V, "ctl-u", "amq.topic", "^a", ".*"]),
    ("set_user_tags", ["set_user_tags", "ctl-u", "management", "policymaker"]),
    ("change_password", ["change_password", "ctl-u", "ctl-pass2"]),
    ("change_password_missing", ["change_password", "ctl-nouser", "x"]),
    ("list_permissions", ["list_permissions", *V]),
    (
        "set_policy",
        [
            "set_policy",
            *V,
            "--priority",
            "1",
            "--apply-to",
            "queues",
            "ctl-p",
            "^ctl-q1$",
            '{"max-length":10}',
        ],
    ),
    (
        "set_operator_policy",
        [
            "set_operator_policy",
            *V,
            "--apply-to",
            "queues",
            "ctl-op",
            "^ctl-q",
            '{"max-length":20}',
        ],
    ),
    ("list_policies", ["list_policies", *V]),
    ("list_operator_policies", ["list_operator_policies", *V]),
]

AFTER_QUEUES: list[tuple[str, list[str]]] = [
    ("list_queues", ["list_queues", *V]),
    (
        "list_queues_columns",
        [
            "list_queues",
            *V,
            "name",
            "messages",
            "durable",
            "auto_delete",
            "exclusive",
            "arguments",
            "policy",
            "consumers",
            "messages_ready",
            "messages_unacknowledged",
            "type",
            "state",
        ],
    ),
    ("list_queues_quiet", ["list_queues", "-q", *V, "name", "messages"]),
    ("list_queues_silent", ["list_queues", "-s", *V, "name", "messages"]),
    (
        "list_queues_json",
        ["list_queues", "--formatter", "json", *V, "name", "messages", "durable", "arguments"],
    ),
    ("list_queues_bad_column", ["list_queues", *V, "name", "nonsense"]),
    ("list_exchanges", ["list_exchanges", *V]),
    (
        "list_exchanges_columns",
        ["list_exchanges", *V, "name", "type", "durable", "auto_delete", "internal", "arguments"],
    ),
    ("list_bindings", ["list_bindings", *V]),
    ("list_consumers", ["list_consumers", *V]),
    ("close_all_connections", ["close_all_connections", *V, "bye"]),
    ("purge_queue", ["purge_queue", *V, "ctl-q1"]),
    ("purge_queue_missing", ["purge_queue", *V, "ctl-missing"]),
    ("delete_queue_if_empty", ["delete_queue", *V, "--if-empty", "ctl-q2"]),
    ("delete_queue", ["delete_queue", *V, "ctl-q2"]),
    ("delete_queue_missing", ["delete_queue", *V, "ctl-missing"]),
    ("delete_queue_if_unused", ["delete_queue", *V, "--if-unused", "ctl-q1"]),
    (
        "set_permissions_missing_vhost",
        ["set_permissions", "-p", "ctl-novhost", "guest", ".*", ".*", ".*"],
    ),
    ("set_user_tags_missing", ["set_user_tags", "ctl-nouser", "a"]),
    ("clear_permissions_missing_user", ["clear_permissions", *V, "ctl-nouser"]),
    ("trace_on_missing_vhost", ["trace_on", "-p", "ctl-novhost"]),
    ("trace_on", ["trace_on", *V]),
    ("trace_off", ["trace_off", *V]),
    ("clear_policy", ["clear_policy", *V, "ctl-p"]),
    ("clear_policy_missing", ["clear_policy", *V, "ctl-p"]),
    ("clear_operator_policy", ["clear_operator_policy", *V, "ctl-op"]),
    ("clear_permissions", ["clear_permissions", *V, "ctl-u"]),
    ("list_users", ["list_users"]),
    ("list_vhosts", ["list_vhosts"]),
    ("delete_user", ["delete_user", "ctl-u"]),
    ("delete_user_missing", ["delete_user", "ctl-u"]),
    ("delete_vhost", ["delete_vhost", VHOST]),
    ("delete_vhost_missing", ["delete_vhost", VHOST]),
    ("list_queues_missing_vhost", ["list_queues", *V]),
    ("await_startup", ["await_startup"]),
    ("usage_missing_argument", ["add_user", "ctl-only"]),
]

Runner = Callable[[list[str]], dict[str, Any]]


def set_up_queues(api_url: str, username: str = "guest", password: str = "guest") -> None:
    """Two queues in ``ctl-v`` (one with an argument), a binding, 3 + 1 messages."""
    for queue, arguments in (("ctl-q1", {}), ("ctl-q2", {"x-message-ttl": 60000})):
        _call(
            api_url,
            "PUT",
            f"/queues/{VHOST}/{queue}",
            {"durable": True, "arguments": arguments},
            username,
            password,
        )
    _call(
        api_url,
        "POST",
        f"/bindings/{VHOST}/e/amq.topic/q/ctl-q1",
        {"routing_key": "ctl.#", "arguments": {}},
        username,
        password,
    )
    for queue, count in (("ctl-q1", 3), ("ctl-q2", 1)):
        for n in range(count):
            body = {
                "properties": {},
                "routing_key": queue,
                "payload": f"m{n}",
                "payload_encoding": "string",
            }
            _call(
                api_url, "POST", f"/exchanges/{VHOST}/amq.default/publish", body, username, password
            )


def run_all(run: Runner, api_url: str) -> dict[str, dict[str, Any]]:
    """Each step's ``{"args", "stdout", "stderr", "exit_code"}``, by step id."""
    outputs: dict[str, dict[str, Any]] = {}
    clean_up(api_url)
    try:
        for step, args in BEFORE_QUEUES:
            outputs[step] = {"args": args, **run(args)}
        set_up_queues(api_url)
        for step, args in AFTER_QUEUES:
            outputs[step] = {"args": args, **run(args)}
    finally:
        clean_up(api_url)  # a run cut short leaves nothing on a shared broker
    return outputs


def clean_up(api_url: str, username: str = "guest", password: str = "guest") -> None:
    """Delete ``ctl-v`` and ``ctl-u`` if there (the last steps do when all went well)."""
    for path in (f"/vhosts/{VHOST}", "/users/ctl-u"):
        try:
            _call(api_url, "DELETE", path, None, username, password)
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise


def _call(api_url: str, method: str, path: str, body: Any, username: str, password: str) -> None:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    request = urllib.request.Request(
        api_url.rstrip("/") + "/api" + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30):
        pass


# -- comparing two CLIs' outputs ---------------------------------------------------------------

SHARED_NAMES = ("ctl-", "guest", "/")  # list_users/list_vhosts: rows of other brokers' users go


def normalised(step: str, output: dict[str, Any]) -> dict[str, Any]:
    """An output with what legitimately differs between two brokers taken out: the order of
    rows (RabbitMQ lists in its tables' hash order), other users' and vhosts' rows on a
    shared reference, and the usage text after rabbitmqctl's first error line."""
    stdout: str = output["stdout"]
    if step.endswith("_json"):
        stdout = json.dumps(sorted(json.loads(stdout), key=json.dumps))
    elif output["args"][0].startswith("list_"):
        stdout = _sorted_rows(stdout, step in ("list_users", "list_vhosts"))
    stderr: str = output["stderr"].strip()
    if output["exit_code"] == 64 and stderr.startswith("Error (argument validation)"):
        stderr = stderr.splitlines()[0]
    return {"stdout": stdout, "stderr": stderr, "exit_code": output["exit_code"]}


def _sorted_rows(stdout: str, shared_only: bool) -> str:
    lines = stdout.splitlines()
    rows = [n for n, line in enumerate(lines) if "\t" in line or _row_of_one_column(lines, n)]
    if not rows:
        return stdout
    first = rows[0] + (1 if _is_header(lines[rows[0]]) else 0)
    body = sorted(lines[first:])
    if shared_only:
        body = [line for line in body if line.startswith(SHARED_NAMES)]
    return "\n".join([*lines[:first], *body]) + "\n"


def _row_of_one_column(lines: list[str], n: int) -> bool:
    """list_vhosts' lines after its banner (one column: no tab)."""
    return n > 0 and not lines[n].endswith("...") and lines[n - 1].endswith("...")


def _is_header(line: str) -> bool:
    return line.split("\t", maxsplit=1)[0] in (
        "name",
        "user",
        "source_name",
        "vhost",
        "queue_name",
        "pid",
    )
