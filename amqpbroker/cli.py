"""Command line: ``amqpbroker serve``."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
from pathlib import Path

import click

from amqpbroker.config import BrokerConfig
from amqpbroker.server.app import BrokerServer
from amqpbroker.server.embedded import _new_event_loop

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
    "--log-level",
    default="info",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
)
def serve(host: str | None, port: int | None, config_file: Path | None, log_level: str) -> None:
    """Run the broker in the foreground until Ctrl-C or SIGTERM."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = load_config(config_file) if config_file else BrokerConfig()
    if host is not None:
        config = dataclasses.replace(config, host=host)
    if port is not None:
        config = dataclasses.replace(config, port=port)
    loop = _new_event_loop()
    try:
        loop.run_until_complete(_serve(config))
    finally:
        loop.close()


async def _serve(config: BrokerConfig) -> None:
    server = BrokerServer(config)
    await server.start()
    click.echo(
        f"amqpbroker listening on amqp://{config.default_user}:{config.default_pass}"
        f"@{config.host}:{server.port}/",
        err=False,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("shutting down")
    await server.stop()


_INT_KEYS = {"heartbeat": "heartbeat", "frame_max": "frame_max", "channel_max": "channel_max"}
_STR_KEYS = {
    "default_user": "default_user",
    "default_pass": "default_pass",
    "default_vhost": "default_vhost",
}


def load_config(path: Path) -> BrokerConfig:
    """Read the common keys of RabbitMQ's ``rabbitmq.conf`` (sysctl-style ``key = value``)."""
    values: dict[str, object] = {}
    for raw_line in path.read_text().splitlines():
        line = raw_line.split("#", 1)[0].strip()
        if not line or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if key in _INT_KEYS:
            values[_INT_KEYS[key]] = int(value)
        elif key in _STR_KEYS:
            values[_STR_KEYS[key]] = value
        elif key == "listeners.tcp.default":
            host, _, port = value.rpartition(":")
            values["port"] = int(port)
            if host:
                values["host"] = host
    return dataclasses.replace(BrokerConfig(), **values)  # type: ignore[arg-type]
