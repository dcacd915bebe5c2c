"""The reference RabbitMQ node as ``rabbitmqctl -n NODE`` reaches it, for the tests that
compare its CLI or set its configuration at run time.

``AMQPBROKER_REFERENCE_NODE`` (refbroker@localhost) names the node,
``AMQPBROKER_REFERENCE_HOME`` the folder holding its ``.erlang.cookie`` when that is not the
user's home (``interop/refbroker.sh`` keeps it in the node's own folder; ``.ci/run`` sets
both), ``AMQPBROKER_REFERENCE_CTL`` the rabbitmqctl to run."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

NODE = os.environ.get("AMQPBROKER_REFERENCE_NODE", "refbroker@localhost")
COOKIE_HOME = os.environ.get("AMQPBROKER_REFERENCE_HOME")
# (Debian's /usr/sbin/rabbitmqctl switches to the rabbitmq user and its home: for a node
# whose cookie is elsewhere, .ci/run names the script that does not)
CTL = os.environ.get("AMQPBROKER_REFERENCE_CTL", "rabbitmqctl")


def run(command: list[str]) -> dict[str, Any]:
    """``command`` with the node's cookie at hand: its stdout, stderr and exit code."""
    env = {**os.environ, "HOME": COOKIE_HOME} if COOKIE_HOME else None
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False, env=env
    )
    return {"stdout": done.stdout, "stderr": done.stderr, "exit_code": done.returncode}


def rabbitmqctl(args: list[str]) -> dict[str, Any]:
    return run([CTL, "-n", NODE, *args])


def unavailable() -> str | None:
    """Why rabbitmqctl cannot reach the node, or None when it can."""
    if shutil.which(CTL) is None:
        return "rabbitmqctl is not installed"
    ping = rabbitmqctl(["-q", "ping"])
    return None if ping["exit_code"] == 0 else f"rabbitmqctl cannot reach {NODE}"


def set_rabbit_env(key: str, value: int) -> None:
    """The rabbit application's ``key`` set to ``value`` on the running node."""
    done = rabbitmqctl(["eval", f"application:set_env(rabbit, {key}, {value})."])
    assert done["exit_code"] == 0, done


def rabbit_env(key: str) -> int:
    done = rabbitmqctl(["eval", f"{{ok, V}} = application:get_env(rabbit, {key}), V."])
    assert done["exit_code"] == 0, done
    return int(done["stdout"].strip())
