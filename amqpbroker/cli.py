"""Command line: ``amqpbroker serve``."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import os
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from amqpbroker.bench import catalog
from amqpbroker.config import MEMORY, BrokerConfig
from amqpbroker.definitions import DefinitionsError
from amqpbroker.server.app import BrokerServer
from amqpbroker.server.listeners import ListenError
from amqpbroker.server.loop import log_loop_exception, new_event_loop, tune_garbage_collector
from amqpbroker.server.tls import TLSConfigError
from amqpbroker.storage.lock import DataDirInUse
from amqpbroker.storage.records import CorruptStore
from amqpbroker.tls_conf import tls_entry, tls_options, with_tls_options

log = logging.getLogger("amqpbroker")


@click.group()
@click.version_option(package_name="amqpbroker")
def main() -> None:
    """amqpbroker: an AMQP 0-9-1 broker that RabbitMQ clients use unchanged."""


@main.command()
@click.option("--host", default=None, help="Address to listen on [127.0.0.1].")
@click.option("--port", type=int, default=None, help="AMQP port; 0 picks a free one [5672].")
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A rabbitmq.conf-style file.",
)
@click.option(
    "--data-dir",
    default=None,
    help="Where durable state lives, or :memory:. [~/.local/share/amqpbroker/PORT; "
    "in memory with --port 0]",
)
@click.option(
    "--log-level",
    default="info",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
)
@tls_options
def serve(
    host: str | None,
    port: int | None,
    config_file: Path | None,
    data_dir: str | None,
    log_level: str,
    **tls: Any,
) -> None:
    """Run the broker in the foreground until Ctrl-C or SIGTERM.

    TLS: --tls-cert and --tls-key add an AMQPS listener (port 5671 unless --tls-port);
    --tls-ca checks client certificates against that CA.  The config file takes every
    RabbitMQ TLS key (listeners.ssl.default, ssl_options.*: see conf/tls.conf)."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = load_config(config_file) if config_file else BrokerConfig()
    config = apply_environment(config, os.environ)
    if host is not None:
        config = dataclasses.replace(config, host=host)
    if port is not None:
        config = dataclasses.replace(config, port=port)
    config = with_tls_options(config, **tls)
    config = dataclasses.replace(config, data_dir=data_dir or default_data_dir(config.port))
    loop = new_event_loop()
    loop.set_exception_handler(log_loop_exception)
    try:
        loop.run_until_complete(_serve(config))
    except OSError as error:
        raise click.ClickException(
            str(error)
            if isinstance(error, ListenError)
            else f"cannot listen on {config.host}:{config.port}: {error.strerror or error}"
        ) from None
    except (DataDirInUse, CorruptStore, TLSConfigError) as error:
        raise click.ClickException(str(error)) from None
    except DefinitionsError as error:
        raise click.ClickException(f"cannot load definitions: {error}") from None
    finally:
        loop.close()


async def _serve(config: BrokerConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    server = BrokerServer(config)
    await server.start()
    tune_garbage_collector()
    for scheme in server.listeners.schemes:  # plain first: its line is the first line
        url = config.url(server.listeners.host(scheme), server.listeners.port(scheme), scheme)
        click.echo(f"amqpbroker listening on {url}")
    await stop.wait()
    log.info("shutting down")
    await server.stop()


@main.command(epilog="Scenarios:\n\n\b\n" + catalog.scenario_help())
@click.option("--url", default=None, help="Broker to load; default: a fresh amqpbroker process.")
@click.option(
    "--scenario",
    type=click.Choice(catalog.SCENARIO_NAMES + catalog.OTHER_NAMES, case_sensitive=False),
    default="all",
    metavar="NAME",
    show_default=True,
    help="A scenario below (full name or letter), all of a-h, startup, recovery, or "
    "hotpath (the CPU cost per message without sockets).",
)
@click.option(
    "--duration",
    type=float,
    default=None,
    help="Seconds of load per measured run [10; 5 with --compare].",
)
@click.option(
    "--count",
    type=int,
    default=None,
    help="g: backlog messages [200000]; recovery: messages [1000000]; startup: runs [30]; "
    "hotpath: messages per round [50000].",
)
@click.option("--size", type=int, default=None, help="Body bytes instead of the scenario's.")
@click.option(
    "--rate",
    type=float,
    default=None,
    help="Messages/s per publisher [as fast as the broker takes them; f: 2000].",
)
@click.option(
    "--broker-pid",
    type=int,
    default=None,
    help="The --url broker's process, for its CPU and memory (found by its listening port "
    "when /proc shows it; RabbitMQ: the beam.smp pid, e.g. $(pgrep beam.smp)).",
)
@click.option(
    "--compare",
    "compare_brokers",
    is_flag=True,
    help="Alternate amqpbroker and the reference RabbitMQ; print a table of medians.",
)
@click.option("--rounds", type=int, default=3, show_default=True, help="With --compare.")
@click.option(
    "--reference-url",
    default=catalog.REFERENCE_URL,
    show_default=True,
    help="With --compare: the RabbitMQ to compare with.",
)
def bench(**options: Any) -> None:
    """Load a broker and measure it: rates, latency, lost/duplicated/reordered messages.

    One process per connection; each run prints a summary and one JSON line.
    """
    from amqpbroker.bench import command as bench_command  # noqa: PLC0415 (heavy: see catalog)

    options["scenario"] = options["scenario"].lower()
    bench_command.run_bench(**options, echo=click.echo)


def default_data_dir(port: int) -> str:
    """State is kept per port; a broker on an ephemeral port (0) keeps it in memory."""
    if port == 0:
        return MEMORY
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "amqpbroker" / str(port))


# rabbitmq.conf keys understood here, and the BrokerConfig field and type each sets.
_KEYS: dict[str, tuple[str, type]] = {
    "heartbeat": ("heartbeat", int),
    "frame_max": ("frame_max", int),
    "channel_max": ("channel_max", int),
    "default_user": ("default_user", str),
    "default_pass": ("default_pass", str),
    "default_vhost": ("default_vhost", str),
    "load_definitions": ("load_definitions", str),
}

# RabbitMQ 3.9+ lets these environment variables override rabbitmq.conf's keys.
_ENVIRONMENT = {
    "RABBITMQ_DEFAULT_USER": "default_user",
    "RABBITMQ_DEFAULT_PASS": "default_pass",
    "RABBITMQ_DEFAULT_VHOST": "default_vhost",
}


def apply_environment(config: BrokerConfig, environ: Mapping[str, str]) -> BrokerConfig:
    """``RABBITMQ_DEFAULT_USER`` / ``_PASS`` / ``_VHOST``, when set and not empty, take
    precedence over rabbitmq.conf (as in RabbitMQ since 3.9)."""
    values: dict[str, Any] = {
        field: environ[name] for name, field in _ENVIRONMENT.items() if environ.get(name)
    }
    return dataclasses.replace(config, **values) if values else config


def load_config(path: Path) -> BrokerConfig:
    """Read the common keys of RabbitMQ's ``rabbitmq.conf`` (sysctl-style ``key = value``)."""
    values: dict[str, Any] = {}
    for number, raw_line in enumerate(path.read_text().splitlines(), start=1):
        line = raw_line.split("#", 1)[0].strip()
        if not line or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        try:
            values.update(_config_entry(key, value, values))
        except ValueError:
            message = f"{path}:{number}: invalid value for {key}: {value!r}"
            raise click.ClickException(message) from None
    return dataclasses.replace(BrokerConfig(), **values)


def _default_user_tag(tag: str, value: str, so_far: dict[str, Any]) -> dict[str, Any]:
    """default_user_tags.TAG = true | false."""
    if value not in ("true", "false"):
        raise ValueError(value)
    tags = so_far.get("default_user_tags", BrokerConfig().default_user_tags)
    tags = [t for t in tags if t != tag]
    return {"default_user_tags": (*tags, tag) if value == "true" else tuple(tags)}


def _default_permission(right: str, value: str, so_far: dict[str, Any]) -> dict[str, Any]:
    """default_permissions.configure | write | read = REGEX."""
    rights = ("configure", "write", "read")
    if right not in rights:
        raise ValueError(right)
    current = list(so_far.get("default_permissions", BrokerConfig().default_permissions))
    current[rights.index(right)] = value
    return {"default_permissions": tuple(current)}


# Keys ``PREFIX.NAME = value``: the handler gets NAME, the value and the values so far.
_PREFIXED: dict[str, Callable[[str, str, dict[str, Any]], dict[str, Any]]] = {
    "default_user_tags.": _default_user_tag,
    "default_permissions.": _default_permission,
}


def _config_entry(key: str, value: str, so_far: dict[str, Any]) -> dict[str, Any]:
    tls = tls_entry(key, value, so_far)  # TLS listener, ssl_options, auth_mechanisms
    if tls is not None:
        return tls
    if key in _KEYS:
        field, kind = _KEYS[key]
        return {field: kind(value)}
    prefix, _, name = key.partition(".")
    if prefix + "." in _PREFIXED and name:
        return _PREFIXED[prefix + "."](name, value, so_far)
    if key == "loopback_users":  # "none" is the only value RabbitMQ takes for the bare key
        if value != "none":
            raise ValueError(value)
        return {"loopback_users": ()}
    if key.startswith("loopback_users."):  # loopback_users.NAME = true | false
        name = key.split(".", 1)[1]
        if value not in ("true", "false"):
            raise ValueError(value)
        users = so_far.get("loopback_users", BrokerConfig().loopback_users)
        others = tuple(u for u in users if u != name)
        return {"loopback_users": (*others, name) if value == "true" else others}
    if key == "handshake_timeout":  # milliseconds, or infinity
        return {"handshake_timeout": math.inf if value == "infinity" else int(value) / 1000}
    if key == "listeners.tcp.default":
        host, _, port = value.rpartition(":")
        return {"port": int(port), **({"host": host.strip("[]")} if host else {})}
    return {}  # other keys of rabbitmq.conf are not used by this broker yet
