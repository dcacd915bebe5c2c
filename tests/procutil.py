"""Helpers for tests that run the broker as a subprocess."""

from __future__ import annotations

import os
import selectors
import subprocess
import time
from typing import Any


def read_lines(proc: subprocess.Popen[Any], count: int, timeout: float) -> list[str]:
    """stdout's first ``count`` lines, waiting on the pipe with a selector and a deadline
    (fewer if stdout hits EOF)."""
    assert proc.stdout is not None
    fd, data = proc.stdout.fileno(), b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while data.count(b"\n") < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                raise TimeoutError(
                    f"{count} lines expected on stdout within {timeout} s, got {data!r}"
                )
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
    return data.decode().splitlines()[:count]


def read_first_line(proc: subprocess.Popen[Any], timeout: float) -> str:
    """stdout's first line; '' if stdout hits EOF first."""
    lines = read_lines(proc, 1, timeout)
    return lines[0] if lines else ""
