"""``amqpbroker definitions export/import`` run as a user runs them: a subprocess against
an ``amqpbroker serve`` started here, through its management API."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mgmt_http import Api, q

from amqpbroker.api_client.client import ManagementClient
from amqpbroker.api_client.settings import DEFAULT_URL, ApiSettings, ManagementApiError

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from procutil import read_lines  # noqa: E402

ENVIRONMENT = ("AMQPBROKER_MANAGEMENT_URL", "AMQPBROKER_USERNAME", "AMQPBROKER_PASSWORD")


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """An ``amqpbroker serve`` process; its management URL."""
    command = [sys.executable, "-m", "amqpbroker", "serve", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        _amqp, management = read_lines(process, 2, timeout=30)
        found = re.search(r"(http://\S+)/$", management)
        assert found is not None, management
        yield found.group(1)
    finally:
        process.terminate()
        process.communicate(timeout=30)


@pytest.fixture
def api(served: str) -> Api:
    return Api(served + "/")


def cli(*args: str, stdin: bytes = b"", **environment: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT}
    env.update(environment)
    return subprocess.run(
        [sys.executable, "-m", "amqpbroker", "definitions", *args],
        input=stdin,
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def said(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stderr.decode()


def _topology(api: Api, vhost: str) -> None:
    assert api.put(f"/api/vhosts/{q(vhost)}", {}).status == 201
    assert api.put(f"/api/queues/{q(vhost)}/jobs", {"durable": True}).status == 201
    assert api.put(f"/api/exchanges/{q(vhost)}/work", {"type": "topic"}).status == 201
    binding = {"routing_key": "jobs.#"}
    assert api.post(f"/api/bindings/{q(vhost)}/e/work/q/jobs", binding).status == 201


def test_export_to_a_file_and_to_stdout(served: str, api: Api, tmp_path: Path) -> None:
    _topology(api, "cli-export")
    target = tmp_path / "definitions.json"
    result = cli("export", str(target), "--url", served)
    assert result.returncode == 0, said(result)
    assert said(result) == f"Exported definitions from {served} to {target}\n"
    document = json.loads(target.read_text())
    assert document == api.get("/api/definitions").body
    assert {"name": "cli-export"} in document["vhosts"]
    to_stdout = cli("export", "-", "--url", served)
    assert (to_stdout.returncode, json.loads(to_stdout.stdout)) == (0, document)


def test_import_brings_back_what_was_exported(served: str, api: Api, tmp_path: Path) -> None:
    _topology(api, "cli-roundtrip")
    target = tmp_path / "definitions.json"
    assert cli("export", str(target), "--url", served).returncode == 0
    assert api.delete("/api/vhosts/cli-roundtrip").status == 204
    result = cli("import", str(target), "--url", served)
    assert result.returncode == 0, said(result)
    assert said(result) == f"Imported definitions from {target} into {served}\n"
    queue = api.get("/api/queues/cli-roundtrip/jobs?columns=name,durable").body
    assert queue == {"name": "jobs", "durable": True}
    bindings = api.get("/api/queues/cli-roundtrip/jobs/bindings?columns=source,routing_key").body
    assert {"source": "work", "routing_key": "jobs.#"} in bindings


def test_one_vhost_out_of_one_and_into_another_through_a_pipe(served: str, api: Api) -> None:
    _topology(api, "cli-from")
    assert api.put("/api/vhosts/cli-into", {}).status == 201
    exported = cli("export", "-", "--vhost", "cli-from", "--url", served)
    assert exported.returncode == 0, said(exported)
    document = json.loads(exported.stdout)
    assert list(document) == [
        "rabbit_version",
        "parameters",
        "policies",
        "queues",
        "exchanges",
        "bindings",
    ]
    imported = cli("import", "-", "--vhost", "cli-into", "--url", served, stdin=exported.stdout)
    assert imported.returncode == 0, said(imported)
    assert said(imported) == f"Imported definitions from stdin into {served} (vhost 'cli-into')\n"
    assert api.get("/api/queues/cli-into/jobs").status == 200


def test_settings_come_from_the_environment_and_options_win(served: str, api: Api) -> None:
    api.put("/api/users/cli-admin", {"password": "s3cret", "tags": "administrator"})
    env = {
        "AMQPBROKER_MANAGEMENT_URL": served,
        "AMQPBROKER_USERNAME": "cli-admin",
        "AMQPBROKER_PASSWORD": "s3cret",
    }
    assert cli("export", "-", **env).returncode == 0
    refused = cli("export", "-", "--password", "wrong", **env)
    assert refused.returncode == 77
    assert said(refused) == (
        f"Error: not authorised as 'cli-admin' (Login failed): GET {served}/api/definitions\n"
    )
    host_and_port = served.removeprefix("http://")
    in_url = cli("export", "-", "--url", f"http://cli-admin:s3cret@{host_and_port}/")
    assert in_url.returncode == 0, said(in_url)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [
        (("export", "-", "--vhost", "nosuch"), b"", 65, "vhost_not_found (400: GET "),
        (("import", "-", "--vhost", "nosuch"), b"{}", 65, "vhost_not_found (404: POST "),
        (("import", "-"), b"{not json", 65, "failed_to_parse_json (400: POST "),
        (
            ("import", "-"),
            b'{"queues": [{"name": "q", "vhost": "nosuch", "durable": true}]}',
            65,
            "queue 'q' in vhost 'nosuch': no such vhost (400: POST ",
        ),
    ],
)
def test_the_brokers_refusals_give_its_reason(
    served: str, args: tuple[str, ...], stdin: bytes, code: int, message: str
) -> None:
    result = cli(*args, "--url", served, stdin=stdin)
    assert result.returncode == code
    assert said(result).startswith("Error: " + message), said(result)


def test_an_unreachable_broker_is_exit_69_without_a_traceback() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    result = cli("export", "-", "--url", url)
    assert result.returncode == 69
    assert said(result) == f"Error: cannot reach the management API at {url}: Connection refused\n"
    assert result.stdout == b""


def test_files_that_cannot_be_read_or_written(served: str, tmp_path: Path) -> None:
    missing = cli("import", str(tmp_path / "nosuch.json"), "--url", served)
    assert missing.returncode == 2 and "No such file or directory" in said(missing)
    unwritable = cli("export", str(tmp_path / "nosuch" / "d.json"), "--url", served)
    assert unwritable.returncode == 73
    assert said(unwritable).startswith("Error: cannot write ")


# -- the settings, without a broker ---------------------------------------------------------------


def _resolve(*args: str | None, **environ: str) -> Any:
    settings = ApiSettings.resolve(*args, environ=environ)
    return settings.url, settings.username, settings.password


def test_settings_precedence() -> None:
    assert _resolve() == (DEFAULT_URL, "guest", "guest")
    env = {"AMQPBROKER_MANAGEMENT_URL": "http://u:p@h:1/", "AMQPBROKER_USERNAME": "e"}
    assert _resolve(**env) == ("http://h:1", "e", "p")
    assert _resolve("https://h:2/prefix/", "o", "w", **env) == ("https://h:2/prefix", "o", "w")
    assert _resolve("h:3") == ("http://h:3", "guest", "guest")
    assert ApiSettings.resolve("http://h:4/api/").api_url("/x") == "http://h:4/api/x"
    with pytest.raises(ManagementApiError, match="not an http"):
        ApiSettings.resolve("ftp://h")


def test_the_client_speaks_json_and_raises_with_the_status(served: str) -> None:
    """What ``amqpbroker ctl`` (issue 17) builds on."""
    client = ManagementClient(ApiSettings.resolve(served))
    assert client.request_json("PUT", "/vhosts/cli-json", {"description": "d"}) is None
    assert client.get_json("/vhosts/cli-json?columns=name,description") == {
        "name": "cli-json",
        "description": "d",
    }
    assert client.request_json("DELETE", "/vhosts/cli-json") is None
    with pytest.raises(ManagementApiError) as missing:
        client.get_json("/vhosts/cli-json")
    assert (missing.value.status, missing.value.exit_code) == (404, 65)
    assert str(missing.value) == f"Not Found (404: GET {served}/api/vhosts/cli-json)"
