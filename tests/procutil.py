"""Helpers for tests that run the broker as a subprocess."""

from __future__ import annotations

import os
import selectors
import subprocess
import time
from typing import Any


def read_first_line(proc: subprocess.Popen[Any], timeout: float) -> str:
    """stdout's first line, waiting on the pipe with a selector; '' if stdout hits EOF."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    data = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while b"\n" not in data:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                raise TimeoutError(f"no line on stdout within {timeout} s (got {data!r})")
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
    return data.decode().partition("\n")[0]
