"""``amqpbroker serve --data-dir`` as a real subprocess that tests stop, kill and restart.

A ``Node`` is one broker identity: a data directory and a fixed port, so every restart
serves the same URL.  Each start reads the URL from stdout's first line through a selector
with a deadline; stderr (the log) goes to one file per start.  Nothing sleeps: waits are
selectors, ``Popen.wait`` or polls with deadlines.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import IO

from procutil import read_first_line

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 20.0  # until the URL line appears
EXIT_TIMEOUT = 15.0  # from a signal until the process has exited
READY = re.compile(r"amqpbroker listening on (amqp://\S+)")


def free_port() -> int:
    """A port nobody listens on now (the broker gets it explicitly, so restarts reuse it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Node:
    """One broker identity (data dir + port) across any number of process lifetimes."""

    def __init__(
        self,
        data_dir: Path | None,
        log_dir: Path,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir  # None: the broker's default
        self.log_dir = log_dir
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._stderr: IO[str] | None = None
        self.log_path = log_dir / "unstarted.stderr"
        self.env = None if env is None else {**os.environ, **env}

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def spawn(self, *extra: str) -> subprocess.Popen[bytes]:
        """Start the process without waiting for it (see ``start``)."""
        assert not self.running, "this node is already running"
        self._close_files()
        self.starts += 1
        self.log_path = self.log_dir / f"broker-{self.port}-{self.starts}.stderr"
        self._stderr = self.log_path.open("w")
        # (no management API: these nodes restart on one fixed AMQP port, and 15672 is
        # not theirs to take)
        argv = [sys.executable, "-m", "amqpbroker", "serve", "--port", str(self.port)]
        argv += ["--no-management", "--no-prometheus"]
        if self.data_dir is not None:
            argv += ["--data-dir", str(self.data_dir)]
        self.proc = subprocess.Popen(
            [*argv, *extra],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=ROOT,
            env=self.env,
        )
        return self.proc

    def start(self, *extra: str) -> Node:
        """Start and wait until it prints its URL (recovery is done by then)."""
        proc = self.spawn(*extra)
        try:
            line = read_first_line(proc, START_TIMEOUT)
        except TimeoutError:
            self.kill()
            raise
        expected = f"amqpbroker listening on {self.url}"
        assert line == expected, f"first line {line!r}, exit {proc.poll()}, log:\n{self.log}"
        return self

    def wait(self, timeout: float = EXIT_TIMEOUT) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Send ``signum`` and wait for the exit status (SIGKILL: -9)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        return self.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing gets flushed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(EXIT_TIMEOUT)

    def restart(self, signum: int = signal.SIGTERM) -> Node:
        code = self.stop(signum)
        expected = 0 if signum == signal.SIGTERM else -signum
        assert code == expected, f"exit status {code} after {signum!r}; log:\n{self.log}"
        return self.start()

    @property
    def log(self) -> str:
        """This start's stderr so far."""
        if self._stderr is not None:
            self._stderr.flush()
        return self.log_path.read_text() if self.log_path.exists() else ""

    def all_logs(self) -> str:
        return "".join(
            path.read_text() for path in sorted(self.log_dir.glob(f"broker-{self.port}-*.stderr"))
        )

    def close(self) -> None:
        self.kill()
        self._close_files()

    def _close_files(self) -> None:
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def assert_clean(log: str) -> None:
    assert "Traceback" not in log, log
    assert " ERROR " not in log, log
    assert " CRITICAL " not in log, log
