"""Run a scenario against one broker and normalise what it observed.

Theory of operation: :func:`run_scenario` gives the scenario a fresh :class:`Run` bound to one
broker URL and a token unique to this run.  The scenario names everything it creates with
``run.name(...)``, opens connections through ``run.raw()`` / ``run.pika()`` / ``run.aio()``,
and returns its observation.  Afterwards the run closes every connection it opened and
deletes every queue and exchange it named, so the shared reference RabbitMQ stays clean.

:func:`normalise` then rewrites what legitimately differs between two brokers or two runs:

- the run token in names (also inside hex dumps and Erlang byte lists) becomes ``<run>``;
- server-generated names ``amq.gen-…`` / ``amq.ctag-…`` become ``amq.gen-#1``, ``amq.ctag-#1``
  … numbered by first appearance, so "the same generated name twice" is still visible;
- the identity entries of ``server_properties`` (product, version, platform, …) become
  ``<identity>``; key order and the capabilities table are kept.

Command line, for looking at scenarios by hand (from ``interop/``)::

    python -m differential.runner queues.purge            # observations from the reference
    python -m differential.runner --ours queues.purge     # ... from an in-process amqpbroker
    python -m differential.runner --compare queues.       # both, reporting differences
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import difflib
import inspect
import json
import os
import re
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlparse

from .admin import Admin, Embedded, ManagementAPI
from .registry import SCENARIOS, Scenario
from .wire import M, Wire

__all__ = [
    "REFERENCE_URL",
    "Outcome",
    "Run",
    "compare",
    "load_scenarios",
    "normalise",
    "run_scenario",
]

REFERENCE_URL = os.environ.get("AMQPBROKER_REFERENCE_URL", "amqp://guest:guest@127.0.0.1:5673/")
IDENTITY_KEYS = ("cluster_name", "copyright", "information", "platform", "product", "version")
# Server-generated names: queues, consumer tags and direct reply-to names.
_GENERATED = re.compile(
    r"amq\.(gen|ctag)-[A-Za-z0-9_-]{22}"
    r"|amq\.(rabbitmq\.reply-to)\.[A-Za-z0-9_=+/-]{16,}\.[A-Za-z0-9_=+/-]+"
)


def load_scenarios() -> dict[str, Scenario]:
    """Import every scenario module (registering them) and return the registry."""
    from . import scenarios  # noqa: F401, PLC0415 - importing registers

    return SCENARIOS


@dataclass
class Outcome:
    """What one run of one scenario produced."""

    observation: Any = None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class Run:
    """One scenario's view of one broker: connections and names it owns."""

    url: str
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    _count: int = 0
    _closers: list[Callable[[], Any]] = field(default_factory=list)
    _queues: list[str] = field(default_factory=list)
    _exchanges: list[str] = field(default_factory=list)
    _aio: list[Any] = field(default_factory=list)
    broker: Any = None  # amqpbroker's BrokerThread when ``url`` is ours, else None
    _admin: Admin | None = None

    @property
    def admin(self) -> Admin:
        """Users, permissions and vhosts for this run (see ``differential.admin``)."""
        if self._admin is None:
            if self.broker is not None:
                backend: Any = Embedded(self.broker)
            else:
                parts = urlparse(self.url)
                user, password = unquote(parts.username or ""), unquote(parts.password or "")
                backend = ManagementAPI(user, password)
            self._admin = Admin(backend)
        return self._admin

    def url_as(self, user: str, password: str, vhost: str | None = None) -> str:
        """This broker's URL for another user (and vhost), quoted as pika and aio-pika want."""
        path = quote(self.vhost if vhost is None else vhost, safe="")
        credentials = f"{quote(user, safe='')}:{quote(password, safe='')}"
        return f"amqp://{credentials}@{self.host}:{self.port}/{path}"

    @property
    def host(self) -> str:
        return urlparse(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlparse(self.url).port or 5672

    @property
    def vhost(self) -> str:
        path = urlparse(self.url).path
        return unquote(path[1:]) if len(path) > 1 else "/"

    # -- names --------------------------------------------------------------------------
    def name(self, kind: str = "q") -> str:
        """A name unique to this run: ``d-<token>-<kind><n>``.  Queues (kind starting with
        'q') and exchanges (kind starting with 'x') are deleted when the run ends."""
        self._count += 1
        full = f"d-{self.token}-{kind}{self._count}"
        if kind.startswith("q"):
            self._queues.append(full)
        elif kind.startswith("x"):
            self._exchanges.append(full)
        return full

    def queue(self) -> str:
        return self.name("q")

    def delete_later(self, queue: str) -> str:
        """Delete this (not ``name()``-made) queue when the run ends."""
        self._queues.append(queue)
        return queue

    def exchange(self) -> str:
        return self.name("x")

    # -- connections --------------------------------------------------------------------
    def wire(self, timeout: float = 5.0) -> Wire:
        """A bare TCP connection (nothing sent), closed when the run ends."""
        w = Wire(self.host, self.port, timeout=timeout)
        self._closers.append(w.close)
        return w

    def raw(self, channel: int | None = 1, **handshake: Any) -> Wire:
        """A raw connection after a full handshake, with ``channel`` open (None: none)."""
        w = self.wire()
        handshake.setdefault("vhost", self.vhost)
        w.handshake(**handshake)
        self._closers.append(lambda: _close_wire(w))
        if channel is not None:
            w.open(channel)
        return w

    def pika(self, **params: Any) -> Any:
        """A pika BlockingConnection to this broker (URL parameters overridable)."""
        import pika  # noqa: PLC0415

        parameters = pika.URLParameters(self.url)
        for key, value in params.items():
            setattr(parameters, key, value)
        conn = pika.BlockingConnection(parameters)
        self._closers.append(lambda: conn.is_open and conn.close())
        return conn

    async def aio(self, **kwargs: Any) -> Any:
        """An aio-pika connection to this broker; closed when the scenario returns."""
        import aio_pika  # noqa: PLC0415

        conn = await aio_pika.connect(self.url, **kwargs)
        self._aio.append(conn)
        return conn

    async def close_aio(self) -> None:
        for conn in reversed(self._aio):
            with contextlib.suppress(Exception):
                await conn.close()

    # -- teardown -----------------------------------------------------------------------
    def close(self) -> None:
        for closer in reversed(self._closers):
            with contextlib.suppress(Exception):
                closer()
        if self._queues or self._exchanges:
            with contextlib.suppress(Exception):
                self._delete_leftovers()
        if self._admin is not None:
            self._admin.cleanup()

    def _delete_leftovers(self) -> None:
        w = Wire(self.host, self.port, timeout=5.0)
        try:
            w.handshake(vhost=self.vhost)
            w.open(1)
            deletions = [M.queue_delete(q) for q in self._queues]
            deletions += [M.exchange_delete(x) for x in self._exchanges]
            for payload in deletions:
                if w.call(1, payload).get("method") == "Channel.Close":
                    w.open(1)  # e.g. a queue still locked by a closing connection
        finally:
            _close_wire(w)


def _close_wire(w: Wire) -> None:
    """connection.close and a short wait for close-ok; then drop the socket."""
    with contextlib.suppress(Exception):
        w.m(0, M.connection_close())
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            got = w.next(max(0.0, deadline - time.monotonic()))
            if got.get("method") == "Connection.CloseOk" or "eof" in got or "timeout" in got:
                break
    w.close()


def run_scenario(sc: Scenario, url: str, broker: Any = None) -> Outcome:
    """Run ``sc`` against the broker at ``url`` (``broker``: the in-process amqpbroker
    serving it, for ``run.admin``); the observation comes back normalised."""
    run = Run(url, broker=broker)
    started = time.monotonic()
    try:
        if inspect.iscoroutinefunction(sc.fn):
            observation = asyncio.run(_run_async(sc, run))
        else:
            observation = sc.fn(run)
        return Outcome(normalise(observation, run.token), None, time.monotonic() - started)
    except Exception as exc:
        detail = "".join(traceback.format_exception(exc))
        return Outcome(None, f"{type(exc).__name__}: {exc}\n{detail}", time.monotonic() - started)
    finally:
        run.close()


async def _run_async(sc: Scenario, run: Run) -> Any:
    try:
        return await sc.fn(run)
    finally:
        await run.close_aio()


def normalise(observation: Any, token: str) -> Any:
    """Replace run tokens, server-generated names and server identity (see module doc)."""
    numbering: dict[str, str] = {}
    token_forms = [
        (token, "<run>"),
        (token.encode().hex(), "<run-hex>"),
        (",".join(str(b) for b in token.encode()), "<run-octets>"),
    ]

    def generated(match: re.Match[str]) -> str:
        name, kind = match.group(0), match.group(1) or match.group(2)
        if name not in numbering:
            count = sum(1 for v in numbering.values() if v.startswith(f"amq.{kind}-"))
            numbering[name] = f"amq.{kind}-#{count + 1}"
        return numbering[name]

    def text(value: str) -> str:
        for form, placeholder in token_forms:
            value = value.replace(form, placeholder)
        return _GENERATED.sub(generated, value)

    def walk(value: Any, key: str | None = None) -> Any:
        if isinstance(value, str):
            return text(value)
        if isinstance(value, dict):
            out = {text(str(k)): walk(v, str(k)) for k, v in value.items()}
            if key == "server_properties":
                for name in IDENTITY_KEYS:
                    if name in out:
                        out[name] = "<identity>"
            return out
        if isinstance(value, list | tuple):
            return [walk(v) for v in value]
        return value

    # A JSON round trip first: the observation must be JSON-able, and tuples become lists.
    return walk(json.loads(json.dumps(observation)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="run differential scenarios by hand")
    parser.add_argument("--url", help="broker to observe (default: the reference)")
    parser.add_argument("--ours", action="store_true", help="observe an in-process amqpbroker")
    parser.add_argument("--compare", action="store_true", help="show only differences")
    parser.add_argument("names", nargs="*", help="scenario names or prefixes (default: all)")
    args = parser.parse_args(argv)
    chosen = [
        sc
        for name, sc in load_scenarios().items()
        if not args.names or any(name.startswith(n) for n in args.names)
    ]
    reference = args.url or REFERENCE_URL
    with contextlib.ExitStack() as stack:
        ours, our_broker = None, None
        if args.ours or args.compare:
            from amqpbroker.embedded.broker import BrokerThread  # noqa: PLC0415

            our_broker = stack.enter_context(BrokerThread())
            ours = our_broker.url
        for sc in chosen:
            if args.compare:
                assert ours is not None
                verdict = compare(
                    sc, run_scenario(sc, reference), run_scenario(sc, ours, our_broker)
                )
                pending = f" (pending: {sc.pending})" if sc.pending else ""
                print(f"== {sc.name}{pending}: {verdict or 'equal'}")
                continue
            if args.ours and ours:
                outcome = run_scenario(sc, ours, our_broker)
            else:
                outcome = run_scenario(sc, reference)
            shown = outcome.error or json.dumps(outcome.observation, indent=1, ensure_ascii=False)
            print(f"== {sc.name} ({outcome.seconds:.2f}s)\n{shown}")
    return 0


def compare(sc: Scenario, reference: Outcome, ours: Outcome) -> str | None:
    """None when equal; otherwise a report showing both observations and their diff."""
    if reference.error:
        return f"the scenario failed against the reference broker:\n{reference.error}"
    if ours.error:
        return (
            f"the scenario failed against amqpbroker:\n{ours.error}\n"
            f"reference observation:\n{_dump(reference.observation)}"
        )
    ref_obs, our_obs = reference.observation, ours.observation
    if sc.normalise is not None:
        ref_obs, our_obs = sc.normalise(ref_obs), sc.normalise(our_obs)
    if ref_obs == our_obs:
        return None
    diff = difflib.unified_diff(
        _dump(ref_obs).splitlines(),
        _dump(our_obs).splitlines(),
        "RabbitMQ (reference)",
        "amqpbroker",
        lineterm="",
    )
    return (
        f"observations differ ({sc.doc})\n"
        + "\n".join(diff)
        + f"\n\nRabbitMQ (reference):\n{_dump(ref_obs)}\n\namqpbroker:\n{_dump(our_obs)}"
    )


def _dump(value: Any) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    sys.exit(main())
