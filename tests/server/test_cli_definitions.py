"""rabbitmq.conf's access keys (default_user_tags.*, default_permissions.*, load_definitions),
the RABBITMQ_DEFAULT_* environment variables, and a bad definitions file stopping ``serve``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from clientutil import EXTERNAL_URL

from amqpbroker.config import BrokerConfig
from amqpbroker.rabbitmq_conf import ConfigFileError, apply_environment, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_access_keys_of_rabbitmq_conf(tmp_path: Path) -> None:
    path = tmp_path / "rabbitmq.conf"
    path.write_text(
        "default_user = admin\n"
        "default_user_tags.administrator = false\n"
        "default_user_tags.monitoring = true\n"
        "default_user_tags.policymaker = true\n"
        "default_permissions.configure = ^admin-\n"
        "default_permissions.read = \n"
        "load_definitions = /etc/rabbitmq/definitions.json\n"
    )
    config = load_config(path)
    assert config.default_user == "admin"
    assert config.default_user_tags == ("monitoring", "policymaker")
    assert config.default_permissions == ("^admin-", ".*", "")
    assert config.load_definitions == "/etc/rabbitmq/definitions.json"


@pytest.mark.parametrize(
    "line", ["default_user_tags.monitoring = yes", "default_permissions.delete = .*"]
)
def test_bad_access_keys_name_the_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / "rabbitmq.conf"
    path.write_text(f"# first\n{line}\n")
    with pytest.raises(ConfigFileError) as error:
        load_config(path)
    assert f"{path}:2: invalid value for" in str(error.value)


def test_environment_variables_override_rabbitmq_conf() -> None:
    config = BrokerConfig(default_user="conf", default_pass="conf", default_vhost="conf")
    environ = {
        "RABBITMQ_DEFAULT_USER": "env-user",
        "RABBITMQ_DEFAULT_PASS": "env-pass",
        "RABBITMQ_DEFAULT_VHOST": "",  # empty: not set
    }
    changed = apply_environment(config, environ)
    assert (changed.default_user, changed.default_pass, changed.default_vhost) == (
        "env-user",
        "env-pass",
        "conf",
    )
    assert apply_environment(config, {}) is config


@pytest.mark.skipif(bool(EXTERNAL_URL), reason="runs amqpbroker itself as a subprocess")
@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "No such file or directory"),
        ("{not json", "not valid JSON"),
        (
            json.dumps(
                {"users": [{"name": "bob", "password": "a", "password_hash": "b", "tags": ""}]}
            ),
            "users[0] ('bob'): both 'password' and 'password_hash' are given",
        ),
    ],
)
def test_a_bad_definitions_file_stops_serve_with_one_line(
    tmp_path: Path, content: str | None, problem: str
) -> None:
    definitions = tmp_path / "definitions.json"
    if content is not None:
        definitions.write_text(content)
    config = tmp_path / "rabbitmq.conf"
    config.write_text(f"load_definitions = {definitions}\n")
    result = subprocess.run(
        [sys.executable, "-m", "amqpbroker", "serve", "--port", "0", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"Error: cannot load definitions: {definitions}: ")
    assert problem in last
    assert result.stdout == ""
