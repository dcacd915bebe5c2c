"""rabbitmqadmin 3.10.8, unchanged, against both brokers: the commands for vhosts, users,
permissions, the overview and definitions give the same output (rows of this test's own
names; values that are the broker's own, such as hashes and the cluster name, left out)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from mgmt_http import Api

pytestmark = [
    pytest.mark.differential,
    pytest.mark.skipif(shutil.which("rabbitmqadmin") is None, reason="no rabbitmqadmin"),
]


def admin(api: Api, *args: str) -> tuple[int, str]:
    result = subprocess.run(
        ["rabbitmqadmin", "--host", api.host, "--port", str(api.port), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def rows_naming(output: str, name: str) -> list[str]:
    return [line for line in output.splitlines() if name in line]


def test_vhost_user_permission_commands(
    reference_api: Api, our_api: Api, new_name: Callable[[], str]
) -> None:
    vhost, user = new_name(), new_name()
    outputs = []
    for api in (reference_api, our_api):
        seen = [
            admin(api, "declare", "vhost", f"name={vhost}"),
            admin(api, "declare", "user", f"name={user}", "password=pw", "tags=management"),
            admin(
                api,
                "declare",
                "permission",
                f"vhost={vhost}",
                f"user={user}",
                "configure=.*",
                "write=.*",
                "read=",
            ),
        ]
        code, listed = admin(api, "list", "permissions")
        seen.append((code, "\n".join(rows_naming(listed, user))))
        code, listed = admin(api, "list", "vhosts", "name")
        seen.append((code, "\n".join(rows_naming(listed, vhost))))
        code, listed = admin(api, "list", "users", "name", "tags")
        seen.append((code, "\n".join(rows_naming(listed, user))))
        code, shown = admin(api, "show", "overview")
        header = [cell.strip() for cell in shown.splitlines()[1].split("|")]
        seen.append((code, " ".join(header)))
        seen.append(admin(api, "delete", "permission", f"vhost={vhost}", f"user={user}"))
        seen.append(admin(api, "delete", "user", f"name={user}"))
        seen.append(admin(api, "delete", "vhost", f"name={vhost}"))
        seen.append(admin(api, "delete", "vhost", f"name={vhost}"))
        outputs.append(seen)
    reference, ours = outputs
    assert ours == reference


def test_the_references_export_imports_here(
    reference_api: Api, our_api: Api, tmp_path: Path
) -> None:
    """``rabbitmqadmin export`` from RabbitMQ, ``import`` into amqpbroker (the reference
    itself is only read: other suites share it), and our export has its sections."""
    theirs, ours = tmp_path / "rabbitmq.json", tmp_path / "amqpbroker.json"
    assert admin(reference_api, "export", str(theirs))[0] == 0
    code, said = admin(our_api, "import", str(theirs))
    assert (code, said.startswith("Uploaded definitions")) == (0, True), said
    assert admin(our_api, "export", str(ours))[0] == 0
    assert list(json.loads(ours.read_text())) == list(json.loads(theirs.read_text()))
