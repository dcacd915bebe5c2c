"""The RabbitMQ tutorials (interop/tutorials/), run the way their users run them.

The broker is ``python -m amqpbroker serve --port 0`` in a subprocess (one per module; its URL
is read from stdout's first line with a deadline), or, when ``AMQPBROKER_TEST_URL`` is set, that
broker instead: the same tests pass against RabbitMQ 3.x. Every tutorial program runs as its own
process with ``AMQP_URL`` pointing at the broker; the tests give it its command-line arguments
and read what it prints. Producers and consumers are paired across clients (pika producer with
aio-pika consumer and the reverse, as well as each client with itself).

Nothing sleeps: a consumer is ready once it printed its " [*] Waiting" line (the programs print
it after basic.consume-ok), and every wait is on printed output, with a deadline. Consumers are
stopped at the end of each test with SIGINT (Ctrl-C, what their users press) and must exit
cleanly; anything left running is killed. The tutorials use fixed queue and exchange names, so
each test deletes them before and after it runs, which keeps a shared RabbitMQ clean. Against our
own broker, each test also fails if the broker logged an error or a warning meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pika
import pika.exceptions
import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = Path(__file__).resolve().parent / "tutorials"
CLIENTS = ("pika", "aio_pika")
EXTERNAL_URL = os.environ.get("AMQPBROKER_TEST_URL")

START_TIMEOUT = 20.0  # until the broker prints its URL
LINE_TIMEOUT = 15.0  # until a program prints an expected line
EXIT_TIMEOUT = 15.0  # until a program exits (by itself or after SIGINT)
DOT_SECONDS = "0.05"  # the workers' seconds of "work" per '.' in a task (1 in the tutorial)
CONFIRM_COUNT = 1000  # messages per publisher-confirms strategy (50,000 in the tutorial)

# The fixed names the tutorials declare.
TUTORIAL_QUEUES = ("hello", "task_queue", "rpc_queue")
TUTORIAL_EXCHANGES = ("logs", "direct_logs", "topic_logs")

WAITING_MESSAGES = " [*] Waiting for messages. To exit press CTRL+C"
WAITING_LOGS = " [*] Waiting for logs. To exit press CTRL+C"
AWAITING_RPC = " [x] Awaiting RPC requests"
INTERRUPTED = "Interrupted"

PAIRS = [
    pytest.param(producer, consumer, id=f"{producer}-to-{consumer}")
    for producer in CLIENTS
    for consumer in CLIENTS
]


class Program:
    """One subprocess whose stdout and stderr lines are collected by threads as they arrive.

    Programs started together share a Condition, so a test can wait for a state spanning
    several of them (e.g. "four tasks done between the two workers")."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: dict[str, str],
        condition: threading.Condition,
    ) -> None:
        self.name = name
        self.condition = condition
        self.lines: list[str] = []
        self.errors: list[str] = []
        self._interrupted = False
        self.proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stderr is not None
        self._pumps = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.errors), daemon=True),
        ]
        for pump in self._pumps:
            pump.start()

    def _pump(self, stream: Iterator[str], sink: list[str]) -> None:
        for line in stream:
            with self.condition:
                sink.append(line.rstrip("\n"))
                self.condition.notify_all()
        with self.condition:
            self.condition.notify_all()

    def __repr__(self) -> str:
        return (
            f"<{self.name} exit={self.proc.poll()}\n  stdout={self.lines}\n  stderr={self.errors}>"
        )

    def wait_for_line(self, line: str, count: int = 1, timeout: float = LINE_TIMEOUT) -> None:
        """Wait until ``line`` has been printed ``count`` times."""
        wait_until(
            self.condition,
            lambda: self.lines.count(line) >= count,
            f"{line!r} x{count} from {self!r}",
            timeout,
        )

    def wait_exit(self, timeout: float = EXIT_TIMEOUT) -> int:
        """Wait for the process to exit and for its output to be read; kill it if it does not."""
        try:
            returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"{self.name} did not exit within {timeout} s: {self!r}")
        for pump in self._pumps:
            pump.join(timeout)
        return returncode

    def interrupt(self) -> None:
        """Press Ctrl-C (once: a second one would interrupt the program's own clean-up)."""
        if not self._interrupted and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self._interrupted = True

    def stop(self, stderr: Sequence[str] = ()) -> None:
        """Ctrl-C, then expect the tutorial's clean exit: "Interrupted", status 0, and no
        stderr but the lines given."""
        self.interrupt()
        assert self.wait_exit() == 0, self
        assert self.lines[-1:] == [INTERRUPTED], self
        assert [line for line in self.errors if line not in stderr] == [], self

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        """Kill the process if still running; release its pipes."""
        self.kill()
        for pump in self._pumps:
            pump.join(EXIT_TIMEOUT)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def wait_until(
    condition: threading.Condition, predicate: Callable[[], bool], what: str, timeout: float
) -> None:
    with condition:
        if not condition.wait_for(predicate, timeout):
            pytest.fail(f"timed out after {timeout} s waiting for {what}")


class Tutorials:
    """Runs tutorial programs against one broker and stops them all when the test ends."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.condition = threading.Condition()
        self.started: list[Program] = []

    def start(self, client: str, program: str, *args: str, **env: str) -> Program:
        """Start ``interop/tutorials/<client>/<program>.py args...``, as a user would."""
        environment = {
            **os.environ,
            "AMQP_URL": self.url,
            "TUTORIAL_DOT_SECONDS": DOT_SECONDS,
            **env,
        }
        environment.pop("PYTHONUNBUFFERED", None)  # the programs must flush by themselves
        proc = Program(
            f"{client}/{program}.py {' '.join(args)}".strip(),
            [sys.executable, f"{program}.py", *args],
            cwd=TUTORIALS / client,
            env=environment,
            condition=self.condition,
        )
        self.started.append(proc)
        return proc

    def run(self, client: str, program: str, *args: str, **env: str) -> list[str]:
        """Run a program to its end; it must succeed without writing to stderr. Its stdout."""
        proc = self.start(client, program, *args, **env)
        assert proc.wait_exit() == 0, proc
        assert proc.errors == [], proc
        return proc.lines

    def wait_until(self, predicate: Callable[[], bool], what: str) -> None:
        wait_until(self.condition, predicate, what, LINE_TIMEOUT)

    def close(self) -> None:
        for proc in self.started:
            proc.interrupt()
        deadline = time.monotonic() + EXIT_TIMEOUT
        for proc in self.started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.proc.wait(max(0.0, deadline - time.monotonic()))
            proc.close()


@dataclass
class BrokerUnderTest:
    url: str
    process: Program | None  # None: an external broker (AMQPBROKER_TEST_URL)


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerUnderTest]:
    if EXTERNAL_URL:
        yield BrokerUnderTest(EXTERNAL_URL, None)
        return
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = Program(
        "amqpbroker",
        [sys.executable, "-m", "amqpbroker", "serve", "--port", "0"],
        cwd=ROOT,
        env=env,
        condition=threading.Condition(),
    )
    try:
        wait_until(proc.condition, lambda: bool(proc.lines), "the broker's URL", START_TIMEOUT)
        match = re.fullmatch(r"amqpbroker listening on (amqp://\S+)", proc.lines[0])
        assert match, proc
        yield BrokerUnderTest(match.group(1), proc)
        proc.proc.send_signal(signal.SIGTERM)
        assert proc.wait_exit() == 0, proc
    finally:
        proc.close()


@pytest.fixture
def broker_log_clean(broker: BrokerUnderTest) -> Iterator[None]:
    """Fail the test if our broker logged a warning, an error or a traceback during it."""
    if broker.process is None:
        yield
        return
    first = len(broker.process.errors)
    yield
    with broker.process.condition:
        logged = broker.process.errors[first:]
    bad = [
        line
        for line in logged
        if any(word in line for word in (" WARNING ", " ERROR ", " CRITICAL ", "Traceback"))
    ]
    assert not bad, "broker logged:\n" + "\n".join(logged)


def delete_tutorial_names(url: str) -> None:
    with pika.BlockingConnection(pika.URLParameters(url)) as connection:
        channel = connection.channel()
        for queue in TUTORIAL_QUEUES:
            channel.queue_delete(queue)
        for exchange in TUTORIAL_EXCHANGES:
            channel.exchange_delete(exchange)


@pytest.fixture
def clean_names(broker: BrokerUnderTest) -> Iterator[None]:
    """The tutorials' queues and exchanges do not exist when a test starts, nor after it."""
    delete_tutorial_names(broker.url)
    yield
    delete_tutorial_names(broker.url)


@pytest.fixture
def tutorials(
    broker: BrokerUnderTest, clean_names: None, broker_log_clean: None
) -> Iterator[Tutorials]:
    # Depends on the other two so that its programs are stopped before they tear down.
    runner = Tutorials(broker.url)
    yield runner
    runner.close()


# 1. "Hello World!"


@pytest.mark.parametrize(("producer", "consumer"), PAIRS)
def test_hello_world(tutorials: Tutorials, producer: str, consumer: str) -> None:
    receiver = tutorials.start(consumer, "receive")
    receiver.wait_for_line(WAITING_MESSAGES)

    assert tutorials.run(producer, "send") == [" [x] Sent 'Hello World!'"]
    receiver.wait_for_line(" [x] Received b'Hello World!'")

    receiver.stop()
    assert receiver.lines == [WAITING_MESSAGES, " [x] Received b'Hello World!'", INTERRUPTED]


# 2. Work queues


def received_tasks(worker: Program) -> list[str]:
    prefix = " [x] Received "
    return [line.removeprefix(prefix) for line in worker.lines if line.startswith(prefix)]


@pytest.mark.parametrize("client", CLIENTS)
def test_tasks_are_persistent_in_a_durable_queue(
    tutorials: Tutorials, broker: BrokerUnderTest, client: str
) -> None:
    assert tutorials.run(client, "new_task") == [" [x] Sent Hello World!"]
    with pika.BlockingConnection(pika.URLParameters(broker.url)) as connection:
        channel = connection.channel()
        method, properties, body = channel.basic_get("task_queue", auto_ack=True)
        assert method is not None
        assert (body, properties.delivery_mode) == (b"Hello World!", 2)
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as closed:
            channel.queue_declare("task_queue", durable=False)
    assert closed.value.reply_code == 406
    assert closed.value.reply_text == (
        "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'task_queue' in vhost '/': "
        "received 'false' but current is 'true'"
    )


@pytest.mark.parametrize(("producer", "consumer"), PAIRS)
def test_workers_take_turns(tutorials: Tutorials, producer: str, consumer: str) -> None:
    """Round-robin: with both workers idle, each new task goes to the other worker."""
    workers = [tutorials.start(consumer, "worker") for _ in range(2)]
    for worker in workers:
        worker.wait_for_line(WAITING_MESSAGES)

    for n in range(1, 5):
        assert tutorials.run(producer, "new_task", "Task", str(n)) == [f" [x] Sent Task {n}"]
        tutorials.wait_until(
            lambda n=n: sum(w.lines.count(" [x] Done") for w in workers) == n,
            f"task {n} done: {workers}",
        )

    for worker in workers:
        worker.stop()
    assert sorted(received_tasks(w) for w in workers) == [
        ["Task 1", "Task 3"],
        ["Task 2", "Task 4"],
    ]
    for worker in workers:
        tasks = received_tasks(worker)
        work = [line for task in tasks for line in (f" [x] Received {task}", " [x] Done")]
        assert worker.lines == [WAITING_MESSAGES, *work, INTERRUPTED]


@pytest.mark.parametrize(("producer", "consumer"), PAIRS)
def test_busy_worker_gets_no_new_task(tutorials: Tutorials, producer: str, consumer: str) -> None:
    """Fair dispatch: prefetch 1 and late acks keep new tasks away from a busy worker.

    The long task would take 15 s; the test ends (and interrupts it) long before."""
    workers = [tutorials.start(consumer, "worker", TUTORIAL_DOT_SECONDS="5") for _ in range(2)]
    for worker in workers:
        worker.wait_for_line(WAITING_MESSAGES)

    tutorials.run(producer, "new_task", "A", "long", "task...")
    tutorials.wait_until(
        lambda: any(received_tasks(w) for w in workers), f"the long task taken: {workers}"
    )
    busy, idle = workers if received_tasks(workers[0]) else workers[::-1]

    senders = [tutorials.start(producer, "new_task", "Quick", str(n)) for n in range(3)]
    for sender in senders:
        assert sender.wait_exit() == 0, sender
    idle.wait_for_line(" [x] Done", count=3)

    assert received_tasks(busy) == ["A long task..."]
    assert " [x] Done" not in busy.lines
    assert sorted(received_tasks(idle)) == ["Quick 0", "Quick 1", "Quick 2"]
    idle.stop()  # first, or it would take the long task its peer gives back
    # Interrupted mid-task, aio-pika's message.process() cannot reject the task on a closed
    # channel and says so; the broker requeues it anyway.
    busy.stop(stderr=["Reject is not sent since channel is closed"])


# 3. Publish/Subscribe


@pytest.mark.parametrize(("producer", "consumer"), PAIRS)
def test_every_log_receiver_gets_every_log(
    tutorials: Tutorials, producer: str, consumer: str
) -> None:
    receivers = [tutorials.start(consumer, "receive_logs") for _ in range(3)]
    for receiver in receivers:
        receiver.wait_for_line(WAITING_LOGS)

    emitted = [(), ("warning:", "disk", "almost", "full"), ("error: it broke",)]
    for args in emitted:
        tutorials.run(producer, "emit_log", *args)
    expected = [
        " [x] b'info: Hello World!'",
        " [x] b'warning: disk almost full'",
        " [x] b'error: it broke'",
    ]

    for receiver in receivers:
        receiver.wait_for_line(expected[-1])
        receiver.stop()
        assert receiver.lines == [WAITING_LOGS, *expected, INTERRUPTED]


def test_emit_log_prints_what_it_sent(tutorials: Tutorials) -> None:
    for client in CLIENTS:
        assert tutorials.run(client, "emit_log") == [" [x] Sent info: Hello World!"]
        assert tutorials.run(client, "emit_log", "a", "b") == [" [x] Sent a b"]


# 4. Routing


def emit_and_collect(
    tutorials: Tutorials,
    producer: str,
    program: str,
    emits: Sequence[tuple[str, ...]],
    receivers: dict[Program, list[str]],
) -> None:
    """Emit each message in turn; then each receiver must have printed exactly its lines.

    The last message emitted matches every receiver, so once a receiver printed it, every
    message emitted before it has been routed to its queue, or never will be."""
    for args in emits:
        tutorials.run(producer, program, *args)
    for receiver, expected in receivers.items():
        receiver.wait_for_line(expected[-1])
    for receiver, expected in receivers.items():
        receiver.stop()
        assert receiver.lines == [WAITING_LOGS, *expected, INTERRUPTED], receiver


@pytest.mark.parametrize(("producer", "consumer"), PAIRS)
def test_direct_routing_by_severity(tutorials: Tutorials, producer: str, consumer: str) -> None:
    errors_only = tutorials.start(consumer, "receive_logs_direct", "error")
    everything = tutorials.start(consumer, "receive_logs_direct", "info", "warning", "error")
    for receiver in (errors_only, everything):
        receiver.wait_for_line(WAITING_LOGS)

    emits = [
        ("debug", "nobody listens to debug"),
        (),  # info:Hello World!
        ("warning", "disk", "almost", "full"),
        ("error", "Run. Run. Or it will explode."),
    ]
    emit_and_collect(
        tutorials,
        producer,
        "emit_log_direct",
        emits,
        {
            errors_only: [" [x] error:b'Run. Run. Or it will explode.'"],
            everything: [
                " [x] info:b'Hello World!'",
                " [x] warning:b'disk almost full'",
                " [x] error:b'Run. Run. Or it will explode.'",
            ],
        },
    )


def test_emit_log_direct_prints_what_it_sent(tutorials: Tutorials) -> None:
    for client in CLIENTS:
        assert tutorials.run(client, "emit_log_direct") == [" [x] Sent info:Hello World!"]
        assert tutorials.run(client, "emit_log_direct", "error", "x", "y") == [
            " [x] Sent error:x y"
        ]


# 5. Topics


@pytest.mark.parametrize(("producer", "consumer"), PAIRS)
def test_topic_routing(tutorials: Tutorials, producer: str, consumer: str) -> None:
    bindings = {
        "all": ["#"],
        "kern": ["kern.*"],
        "critical": ["*.critical"],
        "kern_or_critical": ["kern.*", "*.critical"],
        "kern_tree": ["kern.#"],
    }
    receivers = {
        name: tutorials.start(consumer, "receive_logs_topic", *keys)
        for name, keys in bindings.items()
    }
    for receiver in receivers.values():
        receiver.wait_for_line(WAITING_LOGS)

    # (arguments, the receivers whose bindings match the key)
    emits: list[tuple[tuple[str, ...], list[str]]] = [
        (("kern", "no severity"), ["all", "kern_tree"]),
        (("kern.info.extra", "three words"), ["all", "kern_tree"]),
        (("cron.info", "cron ran"), ["all"]),
        (("lazy.orange",), ["all"]),  # a key without a message: sent as anonymous.info
        (("cron.critical", "cron broke"), ["all", "critical", "kern_or_critical"]),
        (("kern.info", "kernel says hi"), ["all", "kern", "kern_or_critical", "kern_tree"]),
        (("kern.critical", "A critical kernel error"), list(bindings)),  # matches twice, once
    ]
    expected: dict[Program, list[str]] = {r: [] for r in receivers.values()}
    for args, matching in emits:
        key, message = (args[0], " ".join(args[1:])) if len(args) > 1 else ("anonymous.info", "")
        message = message or "Hello World!"
        for name in matching:
            expected[receivers[name]].append(f" [x] {key}:b'{message}'")
    emit_and_collect(tutorials, producer, "emit_log_topic", [args for args, _ in emits], expected)


def test_emit_log_topic_prints_what_it_sent(tutorials: Tutorials) -> None:
    for client in CLIENTS:
        assert tutorials.run(client, "emit_log_topic") == [" [x] Sent anonymous.info:Hello World!"]
        assert tutorials.run(client, "emit_log_topic", "kern.critical") == [
            " [x] Sent anonymous.info:Hello World!"
        ]
        assert tutorials.run(client, "emit_log_topic", "kern.critical", "x", "y") == [
            " [x] Sent kern.critical:x y"
        ]


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(
    ("program", "usage"),
    [
        ("receive_logs_direct", "Usage: receive_logs_direct.py [info] [warning] [error]"),
        ("receive_logs_topic", "Usage: receive_logs_topic.py [binding_key]..."),
    ],
)
def test_log_receivers_need_arguments(
    tutorials: Tutorials, client: str, program: str, usage: str
) -> None:
    receiver = tutorials.start(client, program)
    assert receiver.wait_exit() == 1, receiver
    assert receiver.lines == []
    assert receiver.errors == [usage]


# 6. RPC


@pytest.mark.parametrize(("client", "server"), PAIRS)
def test_rpc_fib_30(tutorials: Tutorials, client: str, server: str) -> None:
    rpc_server = tutorials.start(server, "rpc_server")
    rpc_server.wait_for_line(AWAITING_RPC)

    assert tutorials.run(client, "rpc_client") == [" [x] Requesting fib(30)", " [.] Got 832040"]

    rpc_server.stop()
    assert rpc_server.lines == [AWAITING_RPC, " [.] fib(30)", INTERRUPTED]


# 7. Publisher confirms

CONFIRMED = re.compile(
    rf"Published {CONFIRM_COUNT:,} messages "
    r"(individually|in batch|and handled confirms asynchronously) "
    rf"in [\d,]+ ms \({CONFIRM_COUNT:,} confirmed\)"
)


@pytest.mark.parametrize("client", CLIENTS)
def test_publisher_confirms_every_strategy(tutorials: Tutorials, client: str) -> None:
    lines = tutorials.run(client, "publisher_confirms", TUTORIAL_MESSAGE_COUNT=str(CONFIRM_COUNT))
    matches = [CONFIRMED.fullmatch(line) for line in lines]
    assert all(matches), lines
    assert [m.group(1) for m in matches if m] == [
        "individually",
        "in batch",
        "and handled confirms asynchronously",
    ]
