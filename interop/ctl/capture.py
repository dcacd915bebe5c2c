"""Record what ``rabbitmqctl`` 3.10.8 prints for ``steps.py`` against the reference node into
``tests/fixtures/rabbitmqctl-3.10.8.json`` (run as root: the node's Erlang cookie).

    cd interop && ../.venv/bin/python -m ctl.capture [--node refbroker@localhost]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from ctl.steps import run_all

FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "rabbitmqctl-3.10.8.json"
NODE = "refbroker@localhost"
API = "http://127.0.0.1:15673"


def rabbitmqctl(node: str) -> Any:
    def run(args: list[str]) -> dict[str, Any]:
        done = subprocess.run(
            ["rabbitmqctl", "-n", node, *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return {"stdout": done.stdout, "stderr": done.stderr, "exit_code": done.returncode}

    return run


def main() -> None:
    node = sys.argv[sys.argv.index("--node") + 1] if "--node" in sys.argv else NODE
    outputs = run_all(rabbitmqctl(node), API)
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(outputs, indent=1, sort_keys=True) + "\n")
    print(f"{len(outputs)} steps recorded in {FIXTURE}")


if __name__ == "__main__":
    main()
