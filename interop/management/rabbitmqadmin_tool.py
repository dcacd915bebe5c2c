"""rabbitmqadmin 3.10.8 (``/usr/bin/rabbitmqadmin``, unchanged) run as a user runs it, against
the reference's management API or this broker's, and the cuts the comparisons of its output
need: the rows, ``-f long`` blocks or JSON items that name the test's own objects (the
reference is shared with other suites, so the rest of its output is theirs), and waiting for
the reference's statistics, which it refreshes only every 5 s."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mgmt_http import Api

from amqpbroker.testing.polling import settle

INSTALLED = shutil.which("rabbitmqadmin") is not None
LONG_SEPARATOR = "-" * 80
# RabbitMQ names a connection "127.0.0.1:48970 -> 127.0.0.1:5673": both ports are the brokers'.
CONNECTION_NAME = re.compile(r"127\.0\.0\.1(:|%3A)\d+( |%20)-(>|%3E)( |%20)127\.0\.0\.1(:|%3A)\d+")

TABLE_PADDING = re.compile(r" {2,}\|")
Result = tuple[int, str]  # exit code, stdout + stderr


def admin(api: Api, *args: str, stdin: str | None = None) -> Result:
    result = subprocess.run(
        ["rabbitmqadmin", "--host", api.host, "--port", str(api.port), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def rows_naming(output: str, name: str) -> str:
    """The lines of ``output`` that hold ``name`` (table, tsv, kvp rows); a table row
    without its cells' padding (a column is as wide as its widest cell, maybe another's)."""
    rows = (line for line in output.splitlines() if name in line)
    return "\n".join(TABLE_PADDING.sub(" |", row) if row.startswith("| ") else row for row in rows)


def blocks_naming(output: str, name: str) -> str:
    """The ``-f long`` blocks (between two lines of 80 dashes) that hold ``name``."""
    blocks = output.split(LONG_SEPARATOR)
    return LONG_SEPARATOR.join(block for block in blocks if name in block)


def items_naming(output: str, name: str, key: str = "name") -> list[Any]:
    """The items of a ``-f raw_json``/``pretty_json`` list whose ``key`` holds ``name``."""
    return [item for item in json.loads(output) if name in str(item.get(key, ""))]


def anonymous_connections(output: str) -> str:
    """``output`` with every connection name as ``<connection>``, the table's padding and
    rulers collapsed (a name's width is its ports')."""
    output = CONNECTION_NAME.sub("<connection>", output)
    return re.sub(r"[ -]+", " ", output)


@dataclass(frozen=True)
class Step:
    """One rabbitmqadmin command of a transcript.  ``settle``: it shows statistics, which
    the reference refreshes every 5 s; run again until the reference agrees with this
    broker (or the deadline: then whatever it said last is compared)."""

    args: tuple[str, ...]
    stdin: str | None = None
    settle: bool = False
    keep: str | None = None  # a regular expression: compare only the lines it finds


def step(
    *args: str, stdin: str | None = None, settle: bool = False, keep: str | None = None
) -> Step:
    return Step(args, stdin, settle, keep)


def _run(api: Api, current: Step) -> Result:
    code, output = admin(api, *current.args, stdin=current.stdin)
    if current.keep is not None:
        found = re.compile(current.keep)
        output = "\n".join(line for line in output.splitlines() if found.search(line))
    return code, output


def transcript(
    api: Api, steps: Sequence[Step], agree_with: Sequence[tuple[str, int, str]] | None = None
) -> list[tuple[str, int, str]]:
    """(command, exit code, output) of each step, run in order against ``api``."""
    seen: list[tuple[str, int, str]] = []
    for index, current in enumerate(steps):
        if current.settle and agree_with is not None:
            result = _agreed(api, current, agree_with[index][1:])
        else:
            result = _run(api, current)
        seen.append((" ".join(current.args), *result))
    return seen


def _agreed(api: Api, current: Step, expected: tuple[int, str]) -> Result:
    """``current`` run until it gives ``expected`` or the deadline: what it gave last.  (The
    deadline is generous: a reference just through the slow quorum scenarios has been seen
    to lag past 30 s in refreshing its statistics.)"""
    return settle(
        lambda: _run(api, current), lambda got: got == expected, timeout=120, pause=_pause
    )


def _pause() -> None:
    time.sleep(0.5)  # (between two polls of the reference: it refreshes every 5 s)


def differences(
    ours: Sequence[tuple[str, int, str]], theirs: Sequence[tuple[str, int, str]]
) -> str:
    """The steps whose exit code or output differ, both sides shown ('' when none)."""
    shown = []
    for mine, reference in zip(ours, theirs, strict=True):
        if mine != reference:
            shown.append(
                f"$ rabbitmqadmin {mine[0]}\n-- amqpbroker (exit {mine[1]}):\n{mine[2]}"
                f"-- RabbitMQ 3.10.8 (exit {reference[1]}):\n{reference[2]}"
            )
        else:
            shown.append("")
    return "\n".join(text for text in shown if text)


def topology_steps(vhost: str) -> list[Step]:
    """Make ``vhost`` and in it queues (a quorum one too), exchanges and bindings."""
    v = ("-V", vhost)
    return [
        step("declare", "vhost", f"name={vhost}"),
        step(*v, "declare", "queue", "name=q1"),
        step(*v, "declare", "queue", "name=q2", "durable=false", "auto_delete=true",
             'arguments={"x-max-length": 10, "x-message-ttl": 60000}'),
        step(*v, "declare", "queue", "name=qq", "queue_type=quorum"),
        step(*v, "declare", "exchange", "name=x1", "type=topic"),
        step(*v, "declare", "exchange", "name=x2", "type=fanout", "durable=false",
             "internal=true", 'arguments={"alternate-exchange": "x1"}'),
        step(*v, "declare", "binding", "source=x1", "destination=q1", "routing_key=a.#"),
        step(*v, "declare", "binding", "source=x1", "destination=x2",
             "destination_type=exchange", "routing_key=k", 'arguments={"a": 1}'),
        step(*v, "declare", "binding", "source=x1", "destination=q2"),
    ]  # fmt: skip
