"""How the API is turned on: embedded brokers (off by default, and then aiohttp is never
imported), ``amqpbroker serve`` (on, after AMQP), rabbitmq.conf's keys, the pytest plugin."""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from mgmt_http import Api

from amqpbroker.config import TLSConfig
from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.rabbitmq_conf import load_config
from amqpbroker.testing.tls_fixtures import TestCertificates

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from procutil import read_lines  # noqa: E402

_IMPORTS = """
import sys
from amqpbroker.embedded.broker import BrokerThread
with BrokerThread({options}) as broker:
    assert broker.port
print(sorted(name for name in sys.modules if name.split(".")[0] in ("aiohttp", "amqpbroker")
             and (name.startswith("aiohttp") or name.startswith("amqpbroker.management"))))
"""


def _modules_loaded(options: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", _IMPORTS.format(options=options)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return list(json.loads(result.stdout.strip().replace("'", '"')))


def test_a_broker_without_the_api_never_imports_aiohttp() -> None:
    assert _modules_loaded("") == []


def test_a_broker_with_the_api_imports_it() -> None:
    loaded = _modules_loaded("management=True")
    assert "aiohttp" in loaded
    assert "amqpbroker.management.app" in loaded


def test_management_url_needs_management_true() -> None:
    with BrokerThread() as broker, pytest.raises(RuntimeError, match="management=True"):
        _ = broker.management_url


# -- amqpbroker serve -----------------------------------------------------------------------------


def _serve(*args: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "amqpbroker", "serve", "--port", "0", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)


def _stop(process: subprocess.Popen[bytes]) -> str:
    """Stop the broker; what else it printed."""
    process.terminate()
    rest, _ = process.communicate(timeout=30)
    return rest.decode()


def test_serve_prints_the_management_url_after_the_amqp_line() -> None:
    process = _serve("--management-port", "0")
    try:
        amqp_line, management_line = read_lines(process, 2, timeout=30)
        assert amqp_line.startswith("amqpbroker listening on amqp://")
        found = re.fullmatch(
            r"amqpbroker management on (http://127\.0\.0\.1:\d+/)", management_line
        )
        assert found is not None, management_line
        assert Api(found.group(1)).get("/api/overview").body["rabbitmq_version"] == "3.10.8"
    finally:
        _stop(process)


def test_serve_with_port_0_picks_a_free_management_port_and_no_management_has_none() -> None:
    process = _serve()
    try:
        lines = read_lines(process, 2, timeout=30)
        assert lines[1].startswith("amqpbroker management on http://127.0.0.1:")
        assert not lines[1].endswith(":15672/")
    finally:
        _stop(process)
    process = _serve("--no-management")
    try:
        assert read_lines(process, 1, timeout=30)[0].startswith("amqpbroker listening on")
    finally:
        rest = _stop(process)
    assert "management" not in rest


def test_https_with_the_tls_certificates(tmp_path: Path) -> None:
    certificates = TestCertificates.make(tmp_path)
    tls = certificates.tls_config()
    with BrokerThread(management=True, management_tls=tls) as broker:
        url = broker.management_url
        assert url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(certificates.ca_file))
        request = urllib.request.Request(url + "api/whoami")
        request.add_header("Authorization", "Basic Z3Vlc3Q6Z3Vlc3Q=")
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            assert json.loads(response.read())["name"] == "guest"


# -- rabbitmq.conf --------------------------------------------------------------------------------


def test_management_tcp_keys(tmp_path: Path) -> None:
    path = tmp_path / "rabbitmq.conf"
    path.write_text("management.tcp.port = 15999\nmanagement.tcp.ip = 0.0.0.0\n")
    config = load_config(path)
    assert (config.management_port, config.management_host, config.management_tls) == (
        15999,
        "0.0.0.0",
        None,
    )


def test_management_ssl_keys(tmp_path: Path) -> None:
    path = tmp_path / "rabbitmq.conf"
    path.write_text(
        "management.tcp.port = 15672\n"
        "management.ssl.port = 15671\n"
        "management.ssl.certfile = /c.pem\n"
        "management.ssl.keyfile = /k.pem\n"
        "management.ssl.verify = verify_peer\n"
    )
    config = load_config(path)
    assert config.management_port == 15671
    assert config.management_tls == TLSConfig(
        certfile="/c.pem", keyfile="/k.pem", verify="verify_peer"
    )


def test_a_bad_management_port_names_the_line(tmp_path: Path) -> None:
    from amqpbroker.rabbitmq_conf import ConfigFileError  # noqa: PLC0415

    path = tmp_path / "rabbitmq.conf"
    path.write_text("management.tcp.port = lots\n")
    with pytest.raises(ConfigFileError, match=r"management\.tcp\.port"):
        load_config(path)


def test_the_api_stays_up_across_a_restart_and_sees_the_new_state(tmp_path: Path) -> None:
    with BrokerThread(management=True, data_dir=str(tmp_path / "data")) as broker:
        api = Api(broker.management_url)
        assert api.put("/api/vhosts/kept", {}).status == 201
        broker.restart()
        assert "kept" in [v["name"] for v in api.get("/api/vhosts").body]
        listeners = api.get("/api/overview").body["listeners"]
        assert ("amqp", broker.port) in {(x["protocol"], x["port"]) for x in listeners}
        assert api.delete("/api/vhosts/kept").status == 204
