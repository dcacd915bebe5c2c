"""``amqpbroker ctl`` as scripts use it: a real subprocess whose ``list_queues name messages``
a rabbitmqctl-driven test suite can parse; connections, channels and consumers of a live pika
client (listed, closed with 320 CONNECTION_FORCED); health checks and exit codes; the general
options before or after the command; definitions through stdin and stdout."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
from click.testing import CliRunner
from pika.exceptions import ConnectionClosedByBroker

from amqpbroker.cli import main
from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.testing.polling import wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerThread]:
    with BrokerThread(management=True) as running:
        yield running


@pytest.fixture
def url(broker: BrokerThread) -> str:
    return broker.management_url.rstrip("/")


def ctl(url: str, *args: str, stdin: str = "") -> Any:
    result = CliRunner().invoke(main, ["ctl", "--url", url, *args], input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def rabbitmqctl_style_rows(stdout: str) -> list[list[str]]:
    """What a suite written for rabbitmqctl does: skip the banner, read the header, split rows."""
    lines = [line for line in stdout.splitlines() if not line.endswith("...")]
    header, *rows = lines
    assert header.split("\t") == ["name", "messages"]
    return [row.split("\t") for row in rows]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_suite_parsing_rabbitmqctl_list_queues_reads_ours(broker: BrokerThread) -> None:
    with pika.BlockingConnection(pika.URLParameters(broker.url)) as connection:
        channel = connection.channel()
        channel.queue_declare("ctl-parsed")
        for body in (b"1", b"2"):
            channel.basic_publish("", "ctl-parsed", body)
    environment = {**os.environ, "AMQPBROKER_MANAGEMENT_URL": broker.management_url}
    done = subprocess.run(
        [sys.executable, "-m", "amqpbroker", "ctl", "list_queues", "name", "messages"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Timeout: 60.0 seconds ...\nListing queues for vhost / ...\n")
    assert ["ctl-parsed", "2"] in rabbitmqctl_style_rows(done.stdout)


def test_a_broker_that_is_down_exits_69_and_says_so() -> None:
    result = ctl(f"http://127.0.0.1:{free_port()}", "list_queues")
    assert result.exit_code == 69
    assert result.stderr.startswith("Error: unable to perform an operation on node")
    assert ctl(f"http://127.0.0.1:{free_port()}", "-q", "ping").exit_code == 69


def test_await_startup_gives_up_with_69_after_its_timeout() -> None:
    result = ctl(f"http://127.0.0.1:{free_port()}", "await_startup", "-t", "0.3")
    assert result.exit_code == 69
    assert "Timed out waiting for the node" in result.stderr


def test_ping_and_await_startup_answer_0_on_a_running_broker(url: str) -> None:
    ping = ctl(url, "-n", "rabbit@here", "ping")
    assert (ping.exit_code, ping.stdout.splitlines()[-1]) == (0, "Ping succeeded")
    assert ping.stdout.startswith("Will ping rabbit@here. ")
    started = ctl(url, "await_startup")
    assert (started.exit_code, started.stdout) == (0, "")


def test_usage_errors_exit_64(url: str) -> None:
    assert ctl(url, "delete_user").exit_code == 64
    assert ctl(url, "no_such_command").exit_code == 64
    assert ctl(url, "list_queues", "--formatter", "xml").exit_code == 64


def test_wrong_credentials_are_refused_with_77(url: str) -> None:
    result = ctl(url, "--password", "wrong", "list_vhosts")
    assert result.exit_code == 77
    assert "not authorised" in result.stderr


def test_general_options_work_before_and_after_the_command(url: str) -> None:
    before = ctl(url, "-q", "--formatter", "json", "list_vhosts")
    after = ctl(url, "list_vhosts", "--formatter", "json", "-q")
    assert before.stdout == after.stdout
    assert {"name": "/"} in json.loads(before.stdout)
    assert ctl(url, "-s", "list_vhosts").stdout.splitlines()[0] != "name"


def test_connections_channels_and_consumers_are_listed_and_closed(broker: BrokerThread) -> None:
    url = broker.management_url.rstrip("/")
    connection = pika.BlockingConnection(pika.URLParameters(broker.url))
    channel = connection.channel()
    channel.queue_declare("ctl-consumed")
    channel.basic_consume("ctl-consumed", lambda *_: None, consumer_tag="ctl-tag")
    listed = wait_until(
        lambda: (
            ctl(url, "-q", "list_connections", "name", "user", "vhost", "state").stdout.count("\n")
            > 1
        ),
        "the connection listed",
    )
    assert listed
    rows = ctl(url, "-s", "list_connections", "name", "user", "vhost", "state").stdout.splitlines()
    name, user, vhost, state = rows[0].split("\t")
    assert (user, vhost, state) == ("guest", "/", "running")
    channels = ctl(url, "-s", "list_channels", "connection", "number", "consumer_count").stdout
    assert f"{name}\t1\t1" in channels.splitlines()
    consumers = ctl(url, "-s", "list_consumers", "queue_name", "consumer_tag", "ack_required")
    assert "ctl-consumed\tctl-tag\ttrue" in consumers.stdout.splitlines()
    closed = ctl(url, "close_connection", name, "go away")
    assert closed.exit_code == 0, closed.stderr
    with pytest.raises(ConnectionClosedByBroker) as raised:
        connection.process_data_events(time_limit=5)
        wait_until(lambda: connection.process_data_events(time_limit=0.1) or False, "a close")
    assert (raised.value.reply_code, raised.value.reply_text) == (
        320,
        "CONNECTION_FORCED - go away",
    )


def test_close_all_connections_closes_the_vhosts_connections(broker: BrokerThread) -> None:
    url = broker.management_url.rstrip("/")
    connections = [pika.BlockingConnection(pika.URLParameters(broker.url)) for _ in range(2)]
    wait_until(
        lambda: len(ctl(url, "-s", "list_connections").stdout.splitlines()) >= 2, "2 connections"
    )
    result = ctl(url, "close_all_connections", "-p", "/", "bye")
    assert (
        result.stdout
        == "Closing all connections in vhost /, reason: bye...\nClosed 2 connections\n"
    )
    for connection in connections:
        with pytest.raises(ConnectionClosedByBroker):
            wait_until(lambda c=connection: c.process_data_events(time_limit=0.1) or False, "close")


def test_set_user_tags_keeps_the_password(url: str) -> None:
    assert ctl(url, "add_user", "ctl-tagged", "secret").exit_code == 0
    assert ctl(url, "set_user_tags", "ctl-tagged", "administrator").exit_code == 0
    as_user = ctl(url, "--username", "ctl-tagged", "--password", "secret", "-s", "list_users")
    assert as_user.exit_code == 0, as_user.stderr
    assert "ctl-tagged\t[administrator]" in as_user.stdout.splitlines()
    assert ctl(url, "change_password", "ctl-tagged", "other").exit_code == 0
    again = ctl(url, "--username", "ctl-tagged", "--password", "other", "-s", "list_users")
    assert "ctl-tagged\t[administrator]" in again.stdout.splitlines()  # the tags are kept
    assert ctl(url, "delete_user", "ctl-tagged").exit_code == 0


def test_definitions_go_out_on_stdout_and_come_back_on_stdin(url: str) -> None:
    assert ctl(url, "add_vhost", "ctl-exported").exit_code == 0
    exported = ctl(url, "export_definitions", "-")
    document = json.loads(exported.stdout)
    assert {"name": "ctl-exported"}.items() <= next(
        v for v in document["vhosts"] if v["name"] == "ctl-exported"
    ).items()
    assert ctl(url, "delete_vhost", "ctl-exported").exit_code == 0
    imported = ctl(url, "import_definitions", "-", stdin=exported.stdout)
    assert imported.exit_code == 0, imported.stderr
    assert imported.stdout.startswith("Importing definitions in JSON from standard input ...\n")
    assert "ctl-exported" in ctl(url, "-s", "list_vhosts").stdout.splitlines()


def test_status_shows_the_broker_under_rabbitmqctls_headings(url: str) -> None:
    result = ctl(url, "status")
    assert result.exit_code == 0
    for heading in ("Runtime", "Alarms", "Memory", "Listeners"):
        assert f"\n{heading}\n" in "\n" + result.stdout


RECORDED_CONNECTION = (  # rabbitmqctl 3.10.8, a pika 1.3 connection to the reference broker
    "protocol\thost\tpeer_host\tssl\tauth_mechanism\tchannel_max\tframe_max\ttimeout\tvhost"
    "\tssl_protocol\tpeer_cert_subject\n"
    "{0,9,1}\t127.0.0.1\t127.0.0.1\tfalse\tPLAIN\t2047\t131072\t60\t/\t\t\n"
)
RECORDED_CONNECTION_JSON = (
    '[\n{"user":"guest","peer_host":[127,0,0,1],"ssl":false,"channels":1,"protocol":[0,9,1]}\n]\n'
)


def test_a_connection_row_is_what_rabbitmqctl_printed_for_the_same_client() -> None:
    with BrokerThread(management=True) as alone:  # one connection only
        url = alone.management_url.rstrip("/")
        with pika.BlockingConnection(pika.URLParameters(alone.url)) as connection:
            connection.channel()
            columns = RECORDED_CONNECTION.splitlines()[0].split("\t")
            wait_until(lambda: ctl(url, "-s", "list_channels").stdout, "the channel listed")
            assert ctl(url, "-q", "list_connections", *columns).stdout == RECORDED_CONNECTION
            shown = ("user", "peer_host", "ssl", "channels", "protocol")
            as_json = ctl(url, "list_connections", "--formatter", "json", *shown)
            assert as_json.stdout == RECORDED_CONNECTION_JSON
