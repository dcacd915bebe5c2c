"""The ``amqpbroker`` command, run as a subprocess the way a user runs it.

Each test starts ``python -m amqpbroker serve`` (or the ``amqpbroker`` console script of the
venv), reads the URL it prints on stdout's first line (with a deadline, via a selector on the
pipe), drives it with real clients (pika, aio-pika, raw sockets), then stops it with SIGTERM or
SIGINT (what Ctrl-C sends) and checks the exit status and what it wrote to stderr. Every
process is killed by the fixture if a test leaves it running. Nothing here sleeps: waits are
selectors, ``Popen.wait`` or polling loops, all with deadlines.

The last tests pin the CLI's error handling and URL printing.
"""

from __future__ import annotations

import asyncio
import math
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import aio_pika
import aiormq
import pika
import pika.exceptions
import pytest
from clientutil import EXTERNAL_URL
from pamqp import commands
from procutil import read_first_line
from rawamqp import PROTOCOL_HEADER, BrokerClosed, RawAMQP

from amqpbroker import __version__
from amqpbroker.config import BrokerConfig
from amqpbroker.rabbitmq_conf import load_config
from amqpbroker.testing.polling import wait_until

pytestmark = pytest.mark.skipif(bool(EXTERNAL_URL), reason="runs amqpbroker itself as a subprocess")

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "conf"
PYTHON_M = (sys.executable, "-m", "amqpbroker")
SCRIPT = Path(sys.executable).parent / "amqpbroker"
COMMANDS = {"python-m": PYTHON_M, "console-script": (str(SCRIPT),)}

START_TIMEOUT = 15.0  # until the URL line appears
EXIT_TIMEOUT = 10.0  # from the signal until the process has exited
READY = re.compile(r"amqpbroker listening on (amqp://\S+)")
FORCED = "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"
AUTH_REFUSED = (
    "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. "
    "For details see the broker logfile."
)
STOP_SIGNALS = [
    pytest.param(signal.SIGTERM, id="SIGTERM"),
    pytest.param(signal.SIGINT, id="SIGINT"),
]


class BrokerProcess:
    """One ``amqpbroker serve`` subprocess; stderr goes to a file, read after the fact."""

    def __init__(self, argv: Sequence[str], stderr_path: Path) -> None:
        self.argv = list(argv)
        self.stderr_path = stderr_path
        self._stderr_file = stderr_path.open("w")
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr_file,
            text=True,
            cwd=ROOT,
        )
        self.url = ""

    def read_url(self) -> str:
        """The URL from stdout's first line, as printed."""
        line = read_first_line(self.proc, START_TIMEOUT)
        match = READY.fullmatch(line)
        assert match, f"first line {line!r}, exit {self.proc.poll()}, stderr:\n{self.stderr}"
        self.url = match.group(1)
        return self.url

    def wait_ready(self) -> str:
        """Read the URL line, then wait until the broker answers a protocol header.

        The CLI prints its URL *before* it installs its signal handlers (a race too rare to
        pin with a test), so only a served connection proves that a signal sent now is
        handled rather than killing the process."""
        self.read_url()
        with RawAMQP(self.host, self.port) as c:
            c.send(PROTOCOL_HEADER)
            c.expect_method(commands.Connection.Start)
        return self.url

    @property
    def host(self) -> str:
        return urlparse(self.url).hostname or ""

    @property
    def port(self) -> int:
        return urlparse(self.url).port or 0

    @property
    def stderr(self) -> str:
        self._stderr_file.flush()
        return self.stderr_path.read_text()

    def wait(self, timeout: float = EXIT_TIMEOUT) -> int:
        return self.proc.wait(timeout)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = EXIT_TIMEOUT) -> int:
        self.proc.send_signal(signum)
        return self.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(EXIT_TIMEOUT)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr_file.close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., BrokerProcess]]:
    """``serve("--port", "0")`` starts ``python -m amqpbroker serve --port 0`` and waits for
    its URL; ``command=`` picks another executable, ``ready=False`` skips the wait."""
    started: list[BrokerProcess] = []

    def start(*args: str, command: Sequence[str] = PYTHON_M, ready: bool = True) -> BrokerProcess:
        stderr_path = tmp_path / f"amqpbroker-{len(started)}.stderr"
        process = BrokerProcess([*command, "serve", *args], stderr_path)
        started.append(process)
        if ready:
            process.wait_ready()
        return process

    yield start
    for process in started:
        process.kill()


def run_command(*args: str, command: Sequence[str] = PYTHON_M) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=START_TIMEOUT,
        check=False,
    )


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rabbitmq.conf"
    path.write_text(text)
    return path


def pika_connect(url: str) -> pika.BlockingConnection:
    params = pika.URLParameters(url)
    params.socket_timeout = 5
    params.stack_timeout = 10
    return pika.BlockingConnection(params)


def round_trip(conn: pika.BlockingConnection, queue: str = "cli-test") -> None:
    """Declare, publish, get: the broker behind the URL really works."""
    ch = conn.channel()
    ch.queue_declare(queue, exclusive=True)
    ch.basic_publish("", queue, b"hello")
    body = wait_until(
        lambda: ch.basic_get(queue, auto_ack=True)[2], "the published message", pause=lambda: None
    )
    assert body == b"hello"
    ch.close()


def expect_forced_close(conn: pika.BlockingConnection) -> None:
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as err:
        deadline = time.monotonic() + EXIT_TIMEOUT
        while time.monotonic() < deadline:
            conn.process_data_events(time_limit=0.1)
    assert (err.value.reply_code, err.value.reply_text) == (320, FORCED)


def assert_clean(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert " ERROR " not in stderr, stderr
    assert " CRITICAL " not in stderr, stderr


# -- start-up, the URL line ---------------------------------------------------------------------
@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_serve_prints_its_url_and_pika_connects(
    serve: Callable[..., BrokerProcess], command: Sequence[str]
) -> None:
    if not Path(command[0]).exists():
        pytest.skip(f"{command[0]} is not installed")
    broker = serve("--port", "0", command=command)
    url = urlparse(broker.url)
    assert (url.scheme, url.username, url.password, url.path) == ("amqp", "guest", "guest", "/")
    assert url.hostname == "127.0.0.1"
    assert 0 < broker.port < 65536 and broker.port != 5672
    with pika_connect(broker.url) as conn:
        round_trip(conn)
    assert broker.stop() == 0
    stderr = broker.stderr
    assert f"INFO amqpbroker.server.app: listening on amqp://127.0.0.1:{broker.port}/" in stderr
    assert "INFO amqpbroker: shutting down" in stderr
    assert_clean(stderr)


def test_host_option(serve: Callable[..., BrokerProcess]) -> None:
    broker = serve("--host", "127.0.0.1", "--port", "0")
    assert broker.host == "127.0.0.1"
    with pika_connect(broker.url) as conn:
        round_trip(conn)
    assert broker.stop() == 0


def test_each_port_0_run_gets_its_own_port(serve: Callable[..., BrokerProcess]) -> None:
    first, second = serve("--port", "0"), serve("--port", "0")
    assert first.port != second.port
    for broker in (first, second):
        with pika_connect(broker.url) as conn:
            round_trip(conn)
    assert (first.stop(), second.stop()) == (0, 0)


# -- configuration files ------------------------------------------------------------------------
def test_config_test_conf(serve: Callable[..., BrokerProcess]) -> None:
    broker = serve("--config", "conf/test.conf")
    assert broker.host == "127.0.0.1"
    assert broker.port not in (0, 5672)
    with RawAMQP.connect(broker.host, broker.port) as c:
        assert c.tune is not None
        assert (c.tune.channel_max, c.tune.frame_max, c.tune.heartbeat) == (2047, 131072, 10)
    with pika_connect(broker.url) as conn:
        round_trip(conn)
    assert broker.stop() == 0
    assert_clean(broker.stderr)


def test_example_rabbitmq_conf_with_port_override(serve: Callable[..., BrokerProcess]) -> None:
    """conf/rabbitmq.conf shows RabbitMQ's defaults; --port on the command line wins."""
    broker = serve("--config", str(CONF / "rabbitmq.conf"), "--port", "0")
    assert broker.host == "127.0.0.1"
    assert broker.port != 5672
    with RawAMQP.connect(broker.host, broker.port) as c:
        assert c.tune is not None
        assert (c.tune.channel_max, c.tune.frame_max, c.tune.heartbeat) == (2047, 131072, 60)
    with pika_connect(broker.url) as conn:
        round_trip(conn)
    assert broker.stop() == 0


def test_config_credentials(serve: Callable[..., BrokerProcess], tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        "# a comment\n"
        "listeners.tcp.default = 127.0.0.1:0\n"
        "default_user = alice   # trailing comment\n"
        "default_pass = s3cret\n",
    )
    broker = serve("--config", str(config))
    url = urlparse(broker.url)
    assert (url.username, url.password, url.hostname) == ("alice", "s3cret", "127.0.0.1")
    with pika_connect(broker.url) as conn:
        round_trip(conn)
    guest_url = f"amqp://guest:guest@{broker.host}:{broker.port}/"
    with pytest.raises(pika.exceptions.ProbableAuthenticationError) as err:
        pika_connect(guest_url)
    assert f"(403) '{AUTH_REFUSED}'" in str(err.value)
    with RawAMQP(broker.host, broker.port) as c:
        with pytest.raises(BrokerClosed) as raw_err:
            c.handshake(user="guest", password="guest")
        assert (raw_err.value.reply_code, raw_err.value.reply_text) == (403, AUTH_REFUSED)
    assert broker.stop() == 0
    assert_clean(broker.stderr)


def test_config_tuning_values(serve: Callable[..., BrokerProcess], tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        "listeners.tcp.default = 0\nheartbeat = 7\nframe_max = 8192\nchannel_max = 16\n",
    )
    broker = serve("--config", str(config))
    assert broker.host == "127.0.0.1"
    with RawAMQP.connect(broker.host, broker.port) as c:
        assert c.tune is not None
        assert (c.tune.channel_max, c.tune.frame_max, c.tune.heartbeat) == (16, 8192, 7)
    assert broker.stop() == 0


def test_config_handshake_timeout_in_milliseconds(
    serve: Callable[..., BrokerProcess], tmp_path: Path
) -> None:
    config = write_config(tmp_path, "listeners.tcp.default = 0\nhandshake_timeout = 300\n")
    broker = serve("--config", str(config))
    with RawAMQP(broker.host, broker.port) as stalled:
        stalled.send(PROTOCOL_HEADER)
        started = time.monotonic()
        assert stalled.wait_closed(5)
        assert time.monotonic() - started < 4  # not the default 10 s
    assert broker.stop() == 0
    assert load_config(write_config(tmp_path, "handshake_timeout = infinity\n")) == (
        BrokerConfig(handshake_timeout=math.inf)
    )


def test_config_statistics_interval_in_milliseconds(tmp_path: Path) -> None:
    """RabbitMQ's collect_statistics_interval: how often rates are sampled."""
    assert load_config(write_config(tmp_path, "collect_statistics_interval = 10000\n")) == (
        BrokerConfig(stats_interval=10.0)
    )


def test_missing_config_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run_command("serve", "--config", str(tmp_path / "nope.conf"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


# -- logging ------------------------------------------------------------------------------------
def test_log_level_warning_hides_info(serve: Callable[..., BrokerProcess]) -> None:
    broker = serve("--port", "0", "--log-level", "warning")
    bad_url = f"amqp://guest:wrong@{broker.host}:{broker.port}/"
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        pika_connect(bad_url)  # logged at INFO
    with pika_connect(broker.url) as conn:
        round_trip(conn)
    assert broker.stop() == 0
    stderr = broker.stderr
    assert " INFO " not in stderr, stderr
    assert "listening on" not in stderr
    assert_clean(stderr)


def test_unknown_log_level_is_a_usage_error() -> None:
    result = run_command("serve", "--log-level", "chatty")
    assert result.returncode == 2
    assert "Invalid value for '--log-level'" in result.stderr


# -- graceful shutdown --------------------------------------------------------------------------
@pytest.mark.parametrize("signum", STOP_SIGNALS)
def test_signal_closes_pika_connection_then_exits_0(
    serve: Callable[..., BrokerProcess], signum: int
) -> None:
    broker = serve("--port", "0")
    conn = pika_connect(broker.url)
    try:
        ch = conn.channel()
        ch.queue_declare("work")
        broker.proc.send_signal(signum)
        expect_forced_close(conn)
    finally:
        if conn.is_open:
            conn.close()
    assert broker.wait() == 0
    assert "INFO amqpbroker: shutting down" in broker.stderr
    assert_clean(broker.stderr)


@pytest.mark.parametrize("signum", STOP_SIGNALS)
async def test_signal_closes_aio_pika_connection_then_exits_0(
    serve: Callable[..., BrokerProcess], signum: int
) -> None:
    broker = serve("--port", "0")
    loop = asyncio.get_running_loop()
    conn = await aio_pika.connect(broker.url, timeout=10)
    closed: asyncio.Future[Any] = loop.create_future()
    conn.close_callbacks.add(lambda _sender, exc: closed.done() or closed.set_result(exc))
    try:
        channel = await conn.channel()
        await channel.declare_queue(exclusive=True)
        broker.proc.send_signal(signum)
        exc = await asyncio.wait_for(closed, EXIT_TIMEOUT)
        assert isinstance(exc, aiormq.exceptions.ConnectionClosed)
        assert exc.args == (320, FORCED)
        assert await loop.run_in_executor(None, broker.wait) == 0
    finally:
        await conn.close()
    assert_clean(broker.stderr)


def test_shutdown_closes_every_client(serve: Callable[..., BrokerProcess]) -> None:
    """Several clients at once, one of them raw: each gets 320, the process exits 0."""
    broker = serve("--port", "0")
    conns = [pika_connect(broker.url) for _ in range(3)]
    with RawAMQP.connect(broker.host, broker.port) as raw:
        raw.open_channel(1)
        for conn in conns:
            conn.channel()
        broker.proc.send_signal(signal.SIGTERM)
        close = raw.expect_connection_close(timeout=EXIT_TIMEOUT)
        assert (close.reply_code, close.reply_text, close.class_id, close.method_id) == (
            320,
            FORCED,
            0,
            0,
        )
        for conn in conns:
            expect_forced_close(conn)
        assert raw.wait_closed(EXIT_TIMEOUT)
    assert broker.wait() == 0
    assert_clean(broker.stderr)


def test_shutdown_does_not_wait_forever_for_close_ok(serve: Callable[..., BrokerProcess]) -> None:
    """A client that never answers connection.close is dropped after the close timeout."""
    broker = serve("--port", "0")
    with RawAMQP.connect(broker.host, broker.port) as raw:
        broker.proc.send_signal(signal.SIGTERM)
        _, close = raw.expect_method(commands.Connection.Close, timeout=EXIT_TIMEOUT)
        assert (close.reply_code, close.reply_text) == (320, FORCED)
        started = time.monotonic()
        # no close-ok: RabbitMQ's (and our) close timeout is 3 s
        assert broker.wait(timeout=EXIT_TIMEOUT) == 0
        assert time.monotonic() - started > 2.0  # it did wait for the close-ok
        assert raw.wait_closed(EXIT_TIMEOUT)
    assert "Traceback" not in broker.stderr


def test_shutdown_with_no_clients(serve: Callable[..., BrokerProcess]) -> None:
    broker = serve("--port", "0")
    assert broker.stop(signal.SIGINT) == 0
    assert_clean(broker.stderr)


# -- client mistakes do not reach stderr --------------------------------------------------------
def test_client_mistakes_leave_no_traceback(serve: Callable[..., BrokerProcess]) -> None:
    broker = serve("--port", "0")
    with pika_connect(broker.url) as conn:
        ch = conn.channel()
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as err:
            ch.queue_declare("missing", passive=True)
        assert (err.value.reply_code, err.value.reply_text) == (
            404,
            "NOT_FOUND - no queue 'missing' in vhost '/'",
        )
        # garbage instead of a protocol header: our header back, then the socket is closed
        with RawAMQP(broker.host, broker.port) as raw:
            raw.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(range(256)))
            assert raw.recv_exact(8) == PROTOCOL_HEADER
            assert raw.wait_closed(5)
        # a connected client sending a frame of an unknown type
        with RawAMQP.connect(broker.host, broker.port) as raw:
            raw.send(b"\x09\x00\x00\x00\x00\x00\x00\xce")
            close = raw.expect_connection_close(timeout=5)
            assert close.reply_code == 501
            assert raw.wait_closed(5)
        # a client that vanishes mid-handshake
        with RawAMQP(broker.host, broker.port) as raw:
            raw.send(PROTOCOL_HEADER)
            raw.expect_method(commands.Connection.Start)
        round_trip(conn)  # the broker and the first client are unharmed
        broker.proc.send_signal(signal.SIGTERM)
        expect_forced_close(conn)
    assert broker.wait() == 0
    assert_clean(broker.stderr)


# -- --version, --help --------------------------------------------------------------------------
@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_version(command: Sequence[str]) -> None:
    if not Path(command[0]).exists():
        pytest.skip(f"{command[0]} is not installed")
    result = run_command("--version", command=command)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(f"version {__version__}")
    assert result.stderr == ""


def test_serve_help() -> None:
    result = run_command("serve", "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    for option in ("--host", "--port", "--config", "--log-level"):
        assert option in result.stdout
    assert result.stderr == ""


def test_top_level_help_lists_serve() -> None:
    result = run_command("--help")
    assert result.returncode == 0, result.stderr
    assert "serve" in result.stdout


# -- known bugs ---------------------------------------------------------------------------------


def test_printed_url_names_the_default_vhost(
    serve: Callable[..., BrokerProcess], tmp_path: Path
) -> None:
    config = write_config(
        tmp_path, "listeners.tcp.default = 127.0.0.1:0\ndefault_vhost = myvhost\n"
    )
    broker = serve("--config", str(config))
    assert unquote(urlparse(broker.url).path) == "/myvhost"
    with pika_connect(broker.url) as conn:
        round_trip(conn)


def test_printed_url_quotes_credentials(
    serve: Callable[..., BrokerProcess], tmp_path: Path
) -> None:
    config = write_config(
        tmp_path, "listeners.tcp.default = 127.0.0.1:0\ndefault_pass = p@ss:w/rd\n"
    )
    broker = serve("--config", str(config), ready=False)
    url = urlparse(broker.read_url())
    assert (url.hostname, unquote(url.password or "")) == ("127.0.0.1", "p@ss:w/rd")
    with pika_connect(broker.url) as conn:
        round_trip(conn)


def test_port_in_use_is_a_one_line_error(serve: Callable[..., BrokerProcess]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        broker = serve("--port", str(port), ready=False)
        assert broker.wait() != 0
    assert "address already in use" in broker.stderr.lower()
    assert "Traceback" not in broker.stderr


def test_bad_config_value_is_a_one_line_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, "heartbeat = soon\n")
    result = run_command("serve", "--config", str(config))
    assert result.returncode != 0
    assert "heartbeat" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_tunes_the_garbage_collector_for_a_broker_process():
    """(A broker process of its own: an embedded broker leaves its program's settings;
    the policy's rounds: tests/server/test_collector.py.)"""
    script = (
        "import asyncio, gc\n"
        "from amqpbroker.server.collector import YOUNG_COLLECTION_EVERY, CollectorPolicy\n"
        "before = gc.get_threshold()[0]\n"
        "async def main():\n"
        "    policy = CollectorPolicy()\n"
        "    policy.start()\n"
        "    policy.stop()\n"
        "asyncio.run(main())\n"
        "tuned = gc.get_threshold()[0] == YOUNG_COLLECTION_EVERY\n"
        "print(before, tuned, gc.get_freeze_count() > 0)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["700", "True", "True"]
