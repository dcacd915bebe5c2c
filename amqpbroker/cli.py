"""Command line: ``amqpbroker serve``, ``bench``, ``definitions export/import``, ``ctl``."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from amqpbroker.api_client.ctl.group import ctl
from amqpbroker.api_client.definitions_commands import definitions
from amqpbroker.bench import catalog
from amqpbroker.config import MEMORY, BrokerConfig, TLSConfig
from amqpbroker.definitions import DefinitionsError
from amqpbroker.rabbitmq_conf import ConfigFileError, apply_environment, load_config
from amqpbroker.server.app import BrokerServer
from amqpbroker.server.collector import CollectorPolicy
from amqpbroker.server.listeners import ListenError
from amqpbroker.server.loop import log_loop_exception, new_event_loop
from amqpbroker.server.tls import TLSConfigError
from amqpbroker.storage.lock import DataDirInUse
from amqpbroker.storage.records import CorruptStore

log = logging.getLogger("amqpbroker")


# -- amqpbroker serve --tls-cert/--tls-key/--tls-ca/--tls-port ----------------------------------

DEFAULT_TLS_PORT = 5671  # IANA's amqps
F = TypeVar("F", bound=Callable[..., Any])
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def tls_options(command: F) -> F:
    """The --tls-* options of ``serve``, a shorthand for the ssl_options keys."""
    options = [
        click.option("--tls-cert", type=_FILE, help="Server certificate (PEM): adds AMQPS."),
        click.option("--tls-key", type=_FILE, help="Its private key (PEM), if not in --tls-cert."),
        click.option(
            "--tls-ca",
            type=_FILE,
            help="CA (PEM) that client certificates are checked against (verify_peer); "
            "clients without one are still let in.",
        ),
        click.option(
            "--tls-port", type=int, help=f"AMQPS port; 0 picks a free one [{DEFAULT_TLS_PORT}]."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def with_tls_options(
    config: BrokerConfig,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    tls_ca: Path | None = None,
    tls_port: int | None = None,
) -> BrokerConfig:
    """``config`` with the --tls-* flags applied over what the config file said."""
    tls = config.tls or TLSConfig(certfile="")
    if tls_cert is not None:
        tls = dataclasses.replace(tls, certfile=str(tls_cert))
    if tls_key is not None:
        tls = dataclasses.replace(tls, keyfile=str(tls_key))
    if tls_ca is not None:
        tls = dataclasses.replace(tls, cacertfile=str(tls_ca), verify="verify_peer")
    if tls_port is None and tls_cert is not None and config.tls_port is None:
        tls_port = DEFAULT_TLS_PORT
    if tls_port is not None:
        config = dataclasses.replace(config, tls_port=tls_port)
    if tls != (config.tls or TLSConfig(certfile="")):
        config = dataclasses.replace(config, tls=tls)
    return config


DEFAULT_MANAGEMENT_PORT = 15672  # RabbitMQ's management.tcp.port


def with_management(
    config: BrokerConfig, management_port: int | None, no_management: bool
) -> BrokerConfig:
    """The management listener ``serve`` opens: none with --no-management, else
    --management-port, the config file's, or 15672 (a free one when AMQP's port is 0)."""
    if no_management:
        return dataclasses.replace(config, management_port=None)
    if management_port is None:
        management_port = config.management_port
    if management_port is None:
        management_port = 0 if config.port == 0 else DEFAULT_MANAGEMENT_PORT
    return dataclasses.replace(config, management_port=management_port)


DEFAULT_PROMETHEUS_PORT = 15692  # RabbitMQ's prometheus.tcp.port


def with_prometheus(
    config: BrokerConfig, prometheus_port: int | None, no_prometheus: bool
) -> BrokerConfig:
    """The Prometheus listener ``serve`` opens: none with --no-prometheus, else
    --prometheus-port or the config file's; else it goes with the management API: none
    without it, a free port when the API's is 0, 15692 otherwise."""
    if no_prometheus:
        return dataclasses.replace(config, prometheus_port=None)
    if prometheus_port is None:
        prometheus_port = config.prometheus_port
    if prometheus_port is None and config.management_port is not None:
        prometheus_port = 0 if config.management_port == 0 else DEFAULT_PROMETHEUS_PORT
    return dataclasses.replace(config, prometheus_port=prometheus_port)


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
@click.option(
    "--management-port",
    type=int,
    default=None,
    help=f"Management HTTP API port; 0 picks a free one [{DEFAULT_MANAGEMENT_PORT}; "
    "a free one with --port 0].",
)
@click.option("--no-management", is_flag=True, help="No management HTTP API.")
@click.option(
    "--prometheus-port",
    type=int,
    default=None,
    help=f"Prometheus /metrics port; 0 picks a free one [{DEFAULT_PROMETHEUS_PORT}; "
    "as the management API's: a free one when its port is 0, none without it].",
)
@click.option("--no-prometheus", is_flag=True, help="No Prometheus /metrics endpoint.")
@tls_options
def serve(
    host: str | None,
    port: int | None,
    config_file: Path | None,
    data_dir: str | None,
    log_level: str,
    management_port: int | None,
    no_management: bool,
    prometheus_port: int | None,
    no_prometheus: bool,
    **tls: Any,
) -> None:
    """Run the broker in the foreground until Ctrl-C or SIGTERM.

    TLS: --tls-cert and --tls-key add an AMQPS listener (port 5671 unless --tls-port);
    --tls-ca checks client certificates against that CA.  The config file takes every
    RabbitMQ TLS key (listeners.ssl.default, ssl_options.*: see conf/tls.conf).

    The management HTTP API (RabbitMQ's /api/...) listens on 15672 once AMQP is up
    (management.tcp.port / management.tcp.ip in the config file), and RabbitMQ's
    Prometheus /metrics on 15692 (prometheus.tcp.port / prometheus.tcp.ip)."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = _configuration(config_file, host, port, data_dir, tls)
    config = with_management(config, management_port, no_management)
    config = with_prometheus(config, prometheus_port, no_prometheus)
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


def _configuration(
    config_file: Path | None,
    host: str | None,
    port: int | None,
    data_dir: str | None,
    tls: dict[str, Any],
) -> BrokerConfig:
    """The file, then the RABBITMQ_DEFAULT_* variables, then the command line's options."""
    try:
        config = load_config(config_file) if config_file else BrokerConfig()
    except ConfigFileError as error:
        raise click.ClickException(str(error)) from None
    config = apply_environment(config, os.environ)
    if host is not None:
        config = dataclasses.replace(config, host=host)
    if port is not None:
        config = dataclasses.replace(config, port=port)
    config = with_tls_options(config, **tls)
    return dataclasses.replace(config, data_dir=data_dir or default_data_dir(config.port))


async def _serve(config: BrokerConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    server = BrokerServer(config)
    await server.start()
    collector = CollectorPolicy()
    collector.start()
    for scheme in server.listeners.schemes:  # plain first: its line is the first line
        url = config.url(server.listeners.host(scheme), server.listeners.port(scheme), scheme)
        click.echo(f"amqpbroker listening on {url}")
    if config.management_port is not None:  # after AMQP: clients connect meanwhile
        try:
            management_url = await server.start_management()
        except BaseException:
            await server.stop()
            raise
        click.echo(f"amqpbroker management on {management_url}")
    if config.prometheus_port is not None:
        try:
            metrics_url = await server.start_prometheus()
        except BaseException:
            await server.stop()
            raise
        click.echo(f"amqpbroker metrics on {metrics_url}")
    await stop.wait()
    log.info("shutting down")
    collector.stop()
    await server.stop()


@main.command(epilog="Scenarios:\n\n\b\n" + catalog.scenario_help())
@click.option("--url", default=None, help="Broker to load; default: a fresh amqpbroker process.")
@click.option(
    "--scenario",
    type=click.Choice(catalog.SCENARIO_NAMES + catalog.OTHER_NAMES, case_sensitive=False),
    default="all",
    metavar="NAME",
    show_default=True,
    help="A scenario below (full name or letter), all of a-h, startup, recovery, "
    "hotpath (the CPU cost per message without sockets), or management (how long each "
    "management route holds the broker's loop, with --count queues), metrics (how long "
    "a Prometheus scrape holds it, with --count queues), alarm (a transient flood "
    "into a queue without consumers until the memory alarm trips, then drained: nothing "
    "lost), or connections (--count clients each with a channel and a consumer, then a "
    "new client timed).",
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
    "hotpath: messages per round [50000]; management, metrics: queues [10000]; alarm: "
    "messages [30000, of 16 KiB]; connections: clients [10000].",
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
    "--management-poller",
    is_flag=True,
    help="Meanwhile a client polls GET /api/queues every second (a broker given by URL: its "
    "management API on the AMQP port + 10000, as RabbitMQ's 5672 -> 15672).",
)
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
    from amqpbroker.bench.report import BenchSetupError  # noqa: PLC0415

    options["scenario"] = options["scenario"].lower()
    try:
        bench_command.run_bench(**options, echo=click.echo)
    except BenchSetupError as error:
        raise click.ClickException(str(error)) from None


main.add_command(definitions)
main.add_command(ctl)


def default_data_dir(port: int) -> str:
    """State is kept per port; a broker on an ephemeral port (0) keeps it in memory."""
    if port == 0:
        return MEMORY
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "amqpbroker" / str(port))
