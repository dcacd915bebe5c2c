"""The reference RabbitMQ node as ``rabbitmqctl -n NODE`` reaches it, for the tests that
compare its CLI or set its configuration at run time.

``AMQPBROKER_REFERENCE_NODE`` (refbroker@localhost) names the node,
``AMQPBROKER_REFERENCE_HOME`` the folder holding its ``.erlang.cookie`` when that is not the
user's home (``interop/refbroker.sh`` keeps it in the node's own folder; ``.ci/run`` sets
both), ``AMQPBROKER_REFERENCE_CTL`` the rabbitmqctl to run, ``AMQPBROKER_REFERENCE_URL``
the node's AMQP listener."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

NODE = os.environ.get("AMQPBROKER_REFERENCE_NODE", "refbroker@localhost")
COOKIE_HOME = os.environ.get("AMQPBROKER_REFERENCE_HOME")
# (Debian's /usr/sbin/rabbitmqctl switches to the rabbitmq user and its home: for a node
# whose cookie is elsewhere, .ci/run names the script that does not)
CTL = os.environ.get("AMQPBROKER_REFERENCE_CTL", "rabbitmqctl")
AMQP_URL = os.environ.get("AMQPBROKER_REFERENCE_URL", "amqp://guest:guest@127.0.0.1:5673/")


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


def require() -> None:
    """Skip the calling test when rabbitmqctl cannot reach the node, saying why."""
    why = unavailable()
    if why:
        pytest.skip(why)


@contextlib.contextmanager
def rabbit_env_changed(values: dict[str, int]) -> Iterator[None]:
    """The rabbit application's settings ``values`` on the running node, put back after."""
    saved = {key: rabbit_env(key) for key in values}
    for key, value in values.items():
        set_rabbit_env(key, value)
    try:
        yield
    finally:
        for key, value in saved.items():
            set_rabbit_env(key, value)


def set_rabbit_env(key: str, value: int) -> None:
    """The rabbit application's ``key`` set to ``value`` on the running node."""
    done = rabbitmqctl(["eval", f"application:set_env(rabbit, {key}, {value})."])
    assert done["exit_code"] == 0, done


def rabbit_env(key: str) -> int:
    done = rabbitmqctl(["eval", f"{{ok, V}} = application:get_env(rabbit, {key}), V."])
    assert done["exit_code"] == 0, done
    return int(done["stdout"].strip())
