"""The broker under test: its URL and, when known, its process (for CPU and memory figures).

Our own broker runs as ``amqpbroker serve --port 0`` in a separate process with a temporary
data directory, so that it and the load generator never share a GIL.  For a broker given by
URL the process is ``--broker-pid``, or found from the listening socket when the URL points at
this host and /proc lets us see it (for the reference RabbitMQ that is its ``beam.smp``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from .poller import management_url_for

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_TCP_LISTEN = "0A"


@dataclass(frozen=True)
class Target:
    url: str
    label: str
    pid: int | None = None
    management_url: str | None = None  # its management API (http://user:password@...)

    def rss_kb(self) -> int | None:
        """Resident set size now (VmRSS)."""
        return _status_kb(self.pid, "VmRSS")

    def peak_rss_kb(self) -> int | None:
        """The process's high-water mark of resident memory (VmHWM), over its whole life."""
        return _status_kb(self.pid, "VmHWM")

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the process has used."""
        if self.pid is None:
            return None
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _status_kb(pid: int | None, key: str) -> int | None:
    if pid is None:
        return None
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return None


def url_target(url: str, pid: int | None) -> Target:
    """A broker given by URL; its pid from the caller, or found when it listens here."""
    parts = urlparse(url)
    if pid is None and parts.hostname in _LOOPBACK:
        pid = listening_pid(parts.port or 5672)
    shown = parts._replace(netloc=f"{parts.hostname}:{parts.port or 5672}").geturl()
    return Target(url, shown, pid, management_url_for(url))


@contextmanager
def own_broker() -> Iterator[Target]:
    """``amqpbroker serve --port 0`` with a temporary data directory, for the duration."""
    data_dir = Path(tempfile.mkdtemp(prefix="amqpbroker-bench-"))
    try:
        process, url, management_url = start_broker_process(data_dir)
        try:
            yield Target(url, "amqpbroker", process.pid, management_url)
        finally:
            stop_broker_process(process)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def start_broker_process(
    data_dir: Path, config: Path | None = None
) -> tuple[subprocess.Popen[str], str, str]:
    """Start ``amqpbroker serve`` on a free port (its management API on another), with a
    rabbitmq.conf if given; return it, the URL and the management URL it prints (with
    guest's credentials)."""
    command = [sys.executable, "-m", "amqpbroker", "serve", "--port", "0"]
    command += ["--data-dir", str(data_dir), "--log-level", "warning"]
    if config is not None:
        command += ["--config", str(config)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("amqpbroker listening on "):
        process.kill()
        process.wait()
        raise RuntimeError(f"amqpbroker serve did not start: {line!r}")
    management = process.stdout.readline()
    if not management.startswith("amqpbroker management on "):
        process.kill()
        process.wait()
        raise RuntimeError(f"amqpbroker serve's management API did not start: {management!r}")
    management_url = management.rsplit(" ", 1)[-1].strip().replace("://", "://guest:guest@", 1)
    return process, line.rsplit(" ", 1)[-1].strip(), management_url


def stop_broker_process(process: subprocess.Popen[str], timeout: float = 120) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def listening_pid(port: int) -> int | None:
    """The process listening on TCP ``port``, if /proc shows it to us."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (proc / "fd").iterdir()}
        except OSError:
            continue
        if any(f"socket:[{inode}]" in links for inode in inodes):
            return int(proc.name)
    return None


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == _TCP_LISTEN:
                inodes.add(fields[9])
    return inodes


def process_memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's memory figure from /proc/PID/status in MB (VmRSS now, VmHWM its peak);
    0.0 where that cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0
