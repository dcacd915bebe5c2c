"""How the Prometheus endpoint is turned on: embedded brokers (``prometheus=True``),
``amqpbroker serve`` (with the management API, 15692), rabbitmq.conf's
``prometheus.tcp.port`` and ``prometheus.tcp.ip``; and that a scrape of many queues gives
the loop back between slices."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_scrape import scrape

from amqpbroker.cli import with_prometheus
from amqpbroker.config import BrokerConfig
from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.management.prometheus.exposition import (
    OBJECTS_PER_PAUSE,
    SAMPLES_PER_PIECE,
    scrape_pieces,
)
from amqpbroker.rabbitmq_conf import ConfigFileError, load_config

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from procutil import read_lines  # noqa: E402


def test_prometheus_url_needs_prometheus_true() -> None:
    with BrokerThread() as broker, pytest.raises(RuntimeError, match="prometheus=True"):
        _ = broker.prometheus_url


def test_prometheus_port_chooses_the_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with BrokerThread(prometheus_port=port) as broker:
        assert broker.prometheus_url == f"http://127.0.0.1:{port}/metrics"
        assert scrape(broker.prometheus_url).value("rabbitmq_queues") == 0


def test_the_config_keys(tmp_path: Path) -> None:
    path = tmp_path / "rabbitmq.conf"
    path.write_text("prometheus.tcp.port = 15999\nprometheus.tcp.ip = 0.0.0.0\n")
    config = load_config(path)
    assert (config.prometheus_port, config.prometheus_host) == (15999, "0.0.0.0")
    path.write_text("prometheus.tcp.port = not-a-port\n")
    with pytest.raises(ConfigFileError):
        load_config(path)


@pytest.mark.parametrize(
    ("management", "option", "no_prometheus", "expected"),
    [
        (15672, None, False, 15692),  # with the API, on RabbitMQ's port
        (0, None, False, 0),  # a free one when the API's is
        (None, None, False, None),  # none without the API
        (None, 9999, False, 9999),  # unless asked for
        (15672, 9999, True, None),
    ],
)
def test_serve_s_choice_of_port(
    management: int | None, option: int | None, no_prometheus: bool, expected: int | None
) -> None:
    config = BrokerConfig(management_port=management)
    assert with_prometheus(config, option, no_prometheus).prometheus_port == expected


def test_a_configured_port_wins_over_the_default() -> None:
    config = BrokerConfig(management_port=15672, prometheus_port=16000)
    assert with_prometheus(config, None, False).prometheus_port == 16000


def test_serve_prints_the_metrics_url_after_the_management_line() -> None:
    command = [sys.executable, "-m", "amqpbroker", "serve", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        lines = read_lines(process, 3, timeout=30)
        assert lines[1].startswith("amqpbroker management on ")
        prefix = "amqpbroker metrics on "
        assert lines[2].startswith(prefix + "http://127.0.0.1:"), lines
        url = lines[2].removeprefix(prefix)
        assert not url.endswith(":15692/metrics")
        assert scrape(url).value("rabbitmq_connections") == 0
    finally:
        process.terminate()
        process.communicate(timeout=30)


COUNT = 1500  # queues: more than a piece's samples


def test_a_scrape_of_many_queues_pauses_between_slices() -> None:
    with BrokerThread() as broker:
        queues = [
            {"name": f"slice-{n}", "vhost": "/", "durable": False, "auto_delete": False}
            for n in range(COUNT)
        ]
        broker.import_definitions({"queues": [{**q, "arguments": {}} for q in queues]})

        def pieces_between_pauses(per_object: bool) -> tuple[int, int]:
            longest = run = pauses = 0
            for piece in scrape_pieces(broker.server, "node", per_object=per_object):
                if piece is None:
                    pauses += 1
                    run = 0
                else:
                    run += piece.count("\n")
                    longest = max(longest, run)
            return pauses, longest

        # (the broker is idle: its state may be read from this thread)
        pauses, longest = pieces_between_pauses(True)
        # The queues are read OBJECTS_PER_PAUSE at a time, then each of their 13 families
        # written SAMPLES_PER_PIECE samples a piece (the first after the node's families).
        assert pauses >= COUNT // OBJECTS_PER_PAUSE + 13 * 2
        assert longest < SAMPLES_PER_PIECE + 300
