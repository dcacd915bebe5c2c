"""``amqpbroker serve`` with TLS, run as a subprocess: conf/tls.conf (RabbitMQ's keys) with
the test's certificates, ``listeners.tcp = none``, the --tls-* flags, and the one-line
errors for unusable TLS settings."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pika
import pytest
from clientutil import EXTERNAL_URL
from procutil import read_lines
from tlsclients import pika_connect, pika_round_trip

from amqpbroker.testing.tls_fixtures import TestCertificates

pytestmark = pytest.mark.skipif(bool(EXTERNAL_URL), reason="runs amqpbroker itself")

ROOT = Path(__file__).resolve().parents[2]
SERVE = (sys.executable, "-m", "amqpbroker", "serve", "--data-dir", ":memory:")
URL = re.compile(r"amqpbroker listening on (amqps?://\S+)")
TIMEOUT = 15.0


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], list[str]]]]:
    """``serve(*args, lines=2)``: start the broker, return it and its URL lines."""
    started: list[subprocess.Popen[bytes]] = []
    files: list[BinaryIO] = []

    def start(*args: str, lines: int = 2) -> tuple[subprocess.Popen[bytes], list[str]]:
        files.append((tmp_path / f"stderr-{len(started)}").open("wb"))
        proc = subprocess.Popen([*SERVE, *args], stdout=subprocess.PIPE, stderr=files[-1], cwd=ROOT)
        started.append(proc)
        urls = []
        for line in read_lines(proc, lines, TIMEOUT):
            match = URL.fullmatch(line)
            assert match, line
            urls.append(match.group(1))
        return proc, urls

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(TIMEOUT)
        assert proc.stdout is not None
        proc.stdout.close()
    for file in files:
        file.close()


def run_serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SERVE, *args], capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT, check=False
    )


def stop(proc: subprocess.Popen[bytes], tmp_path: Path) -> str:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(TIMEOUT) == 0
    stderr = "".join(p.read_text() for p in sorted(tmp_path.glob("stderr-*")))
    assert "Traceback" not in stderr and " ERROR " not in stderr, stderr
    return stderr


def example_conf(tmp_path: Path, certs: TestCertificates, *extra: str) -> Path:
    """conf/tls.conf with the test's files and free ports (and ``extra`` lines)."""
    text = (ROOT / "conf" / "tls.conf").read_text()
    text = text.replace("/etc/amqpbroker/tls/server_certificate.pem", str(certs.server_file))
    text = text.replace("/etc/amqpbroker/tls/server_key.pem", str(certs.server_file))
    text = text.replace("/etc/amqpbroker/tls/ca_certificate.pem", str(certs.ca_file))
    text = text.replace(":5672", ":0").replace(":5671", ":0")
    path = tmp_path / "tls.conf"
    path.write_text(text + "".join(f"{line}\n" for line in extra))
    return path


def test_the_example_conf_serves_amqp_and_amqps(serve, tmp_path, amqps_certificates):
    proc, (plain, tls) = serve("--config", str(example_conf(tmp_path, amqps_certificates)))
    assert plain.startswith("amqp://guest:guest@127.0.0.1:")
    assert tls.startswith("amqps://guest:guest@127.0.0.1:") and tls != plain
    with pika_connect(tls, amqps_certificates.client_context()) as conn:
        pika_round_trip(conn)
        assert conn._impl.server_properties["product"] == "amqpbroker"
    with pika.BlockingConnection(pika.URLParameters(plain)) as conn:
        pika_round_trip(conn)
    stderr = stop(proc, tmp_path)
    assert "listening on amqps://127.0.0.1:" in stderr


def test_tls_only(serve, tmp_path, amqps_certificates):
    conf = example_conf(tmp_path, amqps_certificates, "listeners.tcp = none")
    proc, (url,) = serve("--config", str(conf), lines=1)
    assert url.startswith("amqps://")
    with pika_connect(url, amqps_certificates.client_context()) as conn:
        pika_round_trip(conn)
    assert "listening on amqp://" not in stop(proc, tmp_path)


def test_the_tls_flags(serve, tmp_path, amqps_certificates):
    certs = amqps_certificates
    proc, (_, tls) = serve(
        "--port", "0", "--tls-port", "0", "--tls-cert", str(certs.server_file),
        "--tls-ca", str(certs.ca_file),
    )  # fmt: skip
    with pika_connect(tls, certs.client_context("app")) as conn:  # a certificate is checked
        pika_round_trip(conn)
    with pika_connect(tls, certs.client_context()) as conn:  # but not required
        pika_round_trip(conn)
    stop(proc, tmp_path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("ssl_options.keyfile = /nowhere.pem", "Error: ssl_options.keyfile = /nowhere.pem: No"),
        ("ssl_options.verify = verify_none\nssl_options.fail_if_no_peer_cert = true", "needs"),
        ("ssl_options.versions.3 = tlsv1.0", "invalid value for ssl_options.versions.3: 'tlsv1.0'"),
        ("listeners.ssl.default = 127.0.0.1:99999", "invalid value for listeners.ssl.default"),
    ],
    ids=["missing-file", "incompatible", "bad-version", "bad-port"],
)
def test_unusable_tls_settings_are_one_line_errors(tmp_path, amqps_certificates, edit, message):
    result = run_serve("--config", str(example_conf(tmp_path, amqps_certificates, edit)))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert message in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr


def test_a_key_that_is_not_the_certificates(tmp_path, amqps_certificates):
    other = tmp_path / "other"
    other.mkdir()
    result = run_serve(
        "--port", "0", "--tls-port", "0", "--tls-cert", str(amqps_certificates.server_file),
        "--tls-key", str(TestCertificates.make(other).server_file),
    )  # fmt: skip
    assert result.returncode != 0
    assert result.stderr == "Error: ssl_options.keyfile is not the key of ssl_options.certfile\n"
