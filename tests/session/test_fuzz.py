"""The session fuzzer: a smoke run (``make fuzz`` runs a million cases), its checks, and the
inputs it found that broke the broker, replayed as plain session tests."""

from __future__ import annotations

import logging
import random
import struct

import pytest
from pamqp import commands
from pamqp.header import ContentHeader

from amqpbroker.protocol.framing import PROTOCOL_HEADER
from amqpbroker.session.connection import ConnectionSession
from amqpbroker.testing.fuzz import fuzz, mutators, run_case, runner
from amqpbroker.testing.fuzz.checks import (
    CHANNEL_CODES,
    CONNECTION_CODES,
    LogCapture,
    OutputMonitor,
    leaks,
)
from amqpbroker.testing.fuzz.runner import Finding
from amqpbroker.testing.fuzz.sessions import client_session
from amqpbroker.testing.fuzz.wire import (
    OutFrame,
    OutputReader,
    content_header,
    frame_bytes,
    handshake_frames,
    longstr,
    method_frame,
    method_payload,
    nested_tables,
    serialise,
    shortstr,
)
from amqpbroker.testing.harness import SessionBroker

SMOKE_CASES = 1500


def test_a_smoke_run_finds_nothing() -> None:
    report = fuzz(seed=20261206, cases=SMOKE_CASES)
    assert report.cases == SMOKE_CASES
    found = {signature: [f.case for f in same] for signature, same in report.findings.items()}
    assert not found, found  # replay: python -m amqpbroker.testing.fuzz --replay <case>


def test_a_case_is_built_the_same_from_its_name() -> None:
    """What --replay relies on: the name fixes the input, its reads and the events between."""
    runs = [runner.CaseRun(f"7:{index}") for index in (3, 3, 4)]
    built = [(r.data, r.reads, r.mutations, r.alarm_reads, r.bystander is None) for r in runs]
    assert built[0] == built[1]
    assert built[0] != built[2]


def test_seeded_sessions_are_reproducible_and_varied() -> None:
    first = serialise(client_session(random.Random("s:1")).pieces)
    assert first == serialise(client_session(random.Random("s:1")).pieces)
    assert first != serialise(client_session(random.Random("s:2")).pieces)
    assert first.startswith(b"AMQP\x00\x00\x09\x01")


# -- the checks can fail ------------------------------------------------------------------------


def close_frame(channel: int, code: int, text: bytes) -> bytes:
    ids = (10, 50) if channel == 0 else (20, 40)
    payload = struct.pack(">HHH", *ids, code) + shortstr(text) + struct.pack(">HH", 0, 0)
    return frame_bytes(1, channel, payload)


def test_reply_codes_allowed_are_the_catalogues() -> None:
    assert set(CHANNEL_CODES) == {311, 403, 404, 405, 406}
    assert set(CONNECTION_CODES) == {320, 402, 403, 501, 502, 503, 504, 505, 506, 530, 540, 541}


@pytest.mark.parametrize(
    "output",
    [
        close_frame(2, 504, b"CHANNEL_ERROR - hard"),  # a connection-level code on a channel
        close_frame(0, 404, b"NOT_FOUND - soft"),  # a channel-level code on the connection
        close_frame(0, 200, b"OK"),  # not an error
        close_frame(0, 501, b"SYNTAX_ERROR - the name of another code"),
        close_frame(0, 501, b"FRAME_ERROR - x") + frame_bytes(8, 0, b""),  # after close
        close_frame(1, 404, b"NOT_FOUND - x") + frame_bytes(1, 1, b"\x00\x3c\x00\x3c"),
        frame_bytes(3, 3, b"x" * 5000),  # over frame_max
        frame_bytes(9, 0, b""),  # no such frame type
        frame_bytes(1, 1, b"\x00\x3c\x00\x32\x01\x37"),  # basic.return with 311
        b"\x01\x00\x00\x00\x00\x00\x00\x00",  # a bad frame end
    ],
)
def test_the_monitor_flags_what_the_broker_must_not_send(output: bytes) -> None:
    monitor = OutputMonitor(frame_max=4096)
    monitor.feed(output)
    assert len(monitor.problems) == 1, monitor.problems


def test_the_monitor_passes_rabbitmqs_closes() -> None:
    monitor = OutputMonitor(frame_max=4096)
    monitor.feed(close_frame(1, 404, b"NOT_FOUND - no queue 'q'"))
    monitor.feed(frame_bytes(1, 1, b"\x00\x14\x00\x29"))  # close-ok: allowed
    monitor.feed(frame_bytes(1, 1, b"\x00\x14\x00\x0b\x00\x00\x00\x00"))  # reopened
    monitor.feed(frame_bytes(1, 1, b"\x00\x3c\x00\x3c"))
    monitor.feed(close_frame(0, 403, b"ACCESS_REFUSED - login refused"))
    monitor.feed(frame_bytes(1, 0, b"\x00\x0a\x00\x33"))
    assert monitor.problems == []


def test_the_output_reader_takes_the_protocol_header_and_split_frames() -> None:
    reader = OutputReader()
    frame = frame_bytes(8, 0, b"")
    assert reader.feed(b"AMQP\x00\x00\x09\x01" + frame[:3]) == []
    assert reader.feed(frame[3:]) == [OutFrame(8, 0, b"")]
    assert reader.sent_protocol_header
    assert reader.leftover == 0


def test_leaks_and_logged_errors_are_seen() -> None:
    broker = SessionBroker()
    client = broker.connect()
    client.channel().call(
        commands.Queue.Declare(queue="mine", exclusive=True), commands.Queue.DeclareOk
    )
    client.channel().call(commands.Queue.Declare(queue="shared"), commands.Queue.DeclareOk)
    owner = client.session
    client.drop()
    assert leaks(broker.state, owner) == []
    broker.state.vhosts["/"].queues["shared"].exclusive_owner = owner  # as if it were left
    assert leaks(broker.state, owner) == ["exclusive queue 'shared' outlived its connection"]
    capture = LogCapture()
    capture.handle(
        logging.makeLogRecord({"levelno": logging.ERROR, "levelname": "ERROR", "msg": "boom"})
    )
    capture.handle(logging.makeLogRecord({"levelno": logging.INFO, "msg": "fine"}))
    assert capture.take() == ["logged ERROR: boom"]


def test_a_case_that_spins_is_reported_as_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    def spin(self: runner.CaseRun) -> list[Finding]:
        while True:
            pass

    monkeypatch.setattr(runner, "CASE_CPU_LIMIT", 0.05)
    monkeypatch.setattr(runner.CaseRun, "run", spin)
    assert [finding.kind for finding in run_case("1:1")] == ["hang"]


def test_findings_with_the_same_cause_share_a_signature() -> None:
    one = Finding("1:1", "exception", "ValueError at x.py:10: year 584556019", [])
    two = Finding("1:2", "exception", "ValueError at x.py:10: year 99", [])
    assert one.signature == two.signature


# -- findings, replayed ---------------------------------------------------------------------------


class RawClient:
    """A session fed raw bytes; its output read as frames."""

    def __init__(self) -> None:
        self.broker = SessionBroker()
        self.session = ConnectionSession(
            self.broker.state, self.broker.access, peer="127.0.0.1:40000"
        )
        self.reader = OutputReader()
        handshake = client_session_handshake()
        self.send(handshake + frame_bytes(*method_frame(1, commands.Channel.Open)))

    def send(self, data: bytes) -> list[OutFrame]:
        self.session.receive_data(data)
        return self.reader.feed(self.session.data_to_send())

    def publish(self, headers: bytes | list, routing_key: str = "q0") -> list[OutFrame]:
        publish = method_frame(
            1, commands.Basic.Publish, exchange="", routing_key=routing_key, mandatory=False
        )
        header = (2, 1, content_header(3, {"headers": headers}))
        return self.send(serialise([publish, header, (3, 1, b"abc")]))

    def method(self, cls: type, **fields: object) -> list[OutFrame]:
        return self.send(frame_bytes(*method_frame(1, cls, **fields)))


def client_session_handshake() -> bytes:
    """Protocol header, start-ok, tune-ok (frame_max 131072), connection.open."""
    return PROTOCOL_HEADER + serialise(list(handshake_frames()))


def test_cc_headers_next_to_a_timestamp_beyond_datetime_route() -> None:
    """Was: ValueError (pamqp's datetime) out of receive_data; RabbitMQ takes any u64."""
    client = RawClient()
    for queue in ("q0", "q1"):
        client.method(commands.Queue.Declare, queue=queue)
    stamp_and_cc = [(b"t", b"T", 2**64 - 1), (b"CC", b"A", [(b"S", b"q1")])]
    assert client.publish(stamp_and_cc) == []
    for queue in ("q0", "q1"):
        frames = client.method(commands.Basic.Get, queue=queue, no_ack=True)
        assert frames[0].ids == (60, 71), frames  # get-ok


def test_unparsable_headers_with_cc_close_the_connection_541() -> None:
    """Was: ValueError out of receive_data."""
    client = RawClient()
    bad_tag = longstr(shortstr(b"CC") + b"Z" + b"\x00" * 4)
    frames = client.publish(bad_tag)
    assert [(f.ids, f.reply_code) for f in frames] == [((10, 50), 541)]
    assert client.session.closing


def test_arguments_nested_past_recursion_close_the_connection_501() -> None:
    """Was: RecursionError out of receive_data."""
    nested = nested_tables(5000)
    declare = method_payload(commands.Queue.Declare(queue="q0"), [])[:-4] + nested
    frames = RawClient().send(frame_bytes(1, 1, declare))
    assert [(f.ids, f.reply_code) for f in frames] == [((10, 50), 501)]


def test_a_closing_connection_delivers_nothing_to_its_own_other_channels() -> None:
    """Was: releasing channel 1 requeued its unacked message straight to the consumer on
    channel 2 of the same, closing connection: a basic.deliver after close-ok, and the
    message counted as delivered once more (redelivered, a quorum queue's delivery count)."""
    client = RawClient()
    client.send(frame_bytes(*method_frame(2, commands.Channel.Open)))
    client.method(commands.Queue.Declare, queue="q0")
    for channel, tag in ((1, "a"), (2, "b")):
        consume = method_frame(channel, commands.Basic.Consume, queue="q0", consumer_tag=tag)
        client.send(frame_bytes(*consume))
    delivered = client.publish([])
    assert [(f.channel, f.ids) for f in delivered if f.frame_type == 1] == [(1, (60, 60))]
    close = method_frame(
        0, commands.Connection.Close, reply_code=200, reply_text="", class_id=0, method_id=0
    )
    assert [(f.channel, f.ids) for f in client.send(frame_bytes(*close))] == [(0, (10, 51))]
    queue = client.broker.state.vhosts["/"].queues["q0"]
    assert queue.message_count == 1


@pytest.mark.parametrize("mutator", list(mutators.FRAME_MUTATORS), ids=lambda m: m.__name__)
def test_every_frame_mutator_changes_seeded_sessions(mutator: mutators.FrameMutator) -> None:
    changed = 0
    for index in range(20):
        rng = random.Random(f"m:{index}")
        session = client_session(rng)
        before = serialise(session.pieces)
        mutator(rng, session)
        changed += serialise(session.pieces) != before
    assert changed >= 15


@pytest.mark.parametrize("mutator", list(mutators.BYTE_MUTATORS), ids=lambda m: m.__name__)
def test_every_byte_mutator_changes_the_stream(mutator: mutators.ByteMutator) -> None:
    streams = [serialise(client_session(random.Random(f"b:{i}")).pieces) for i in range(20)]
    rng = random.Random(0)
    assert sum(mutator(rng, data) != data for data in streams) >= 18


def test_reads_cover_the_stream_in_order() -> None:
    rng = random.Random(1)
    data = bytes(range(256)) * 40
    for _ in range(20):
        reads = mutators.chunks(rng, data)
        assert b"".join(reads) == data
        assert all(reads)


def dead_letter_once(headers: bytes | list) -> dict:
    """Publish to a queue dead-lettering into "dead", reject it, read it from "dead":
    the headers it arrived with."""
    client = RawClient()
    to_dead = [
        (b"x-dead-letter-exchange", b"S", b""),
        (b"x-dead-letter-routing-key", b"S", b"dead"),
    ]
    client.method(commands.Queue.Declare, queue="dead")
    client.method(commands.Queue.Declare, queue="q0", arguments=to_dead)
    client.publish(headers)
    client.method(commands.Basic.Get, queue="q0")
    reject = method_frame(1, commands.Basic.Reject, delivery_tag=1, requeue=False)
    assert client.send(frame_bytes(*reject)) == []
    frames = client.method(commands.Basic.Get, queue="dead", no_ack=True)
    assert frames[0].ids == (60, 71), frames  # get-ok
    content_header = ContentHeader()
    content_header.unmarshal(frames[1].payload)
    return dict(content_header.properties.headers or {})


def bad_x_death(array_octets: bytes) -> bytes:
    return longstr(shortstr(b"x-death") + b"A" + longstr(array_octets))


@pytest.mark.parametrize(
    "headers",
    [
        bad_x_death(b"F" + nested_tables(3000)),  # was: RecursionError
        [(b"x-death", b"A", [(b"F", [(b"time", b"T", 2**64 - 1)])])],  # was: ValueError (year)
    ],
    ids=["deep", "timestamp"],
)
def test_a_made_up_history_is_replaced_when_the_message_is_dead_lettered(
    headers: bytes | list,
) -> None:
    """Found by the fuzzer: the x-death a publisher made up could not be read when the
    message was dead-lettered, and the error escaped the session."""
    deaths = dead_letter_once(headers)["x-death"]
    assert [(d["queue"], d["reason"], d["count"]) for d in deaths] == [("q0", "rejected", 1)]


@pytest.mark.parametrize(
    "headers",
    [
        bad_x_death(b"F\x00\x00"),  # was: ValueError (could not unpack) at dead-lettering
        bad_x_death(b"F\x00\x00\x00\x01Z"),  # was: ValueError (key length)
        longstr(shortstr(b"k") + b"S" + struct.pack(">I", 99) + b"ab"),  # was: ValueError
    ],
    ids=["truncated", "bad-key", "string-past-end"],
)
def test_a_headers_table_that_does_not_parse_is_refused_on_publish(headers: bytes) -> None:
    """As RabbitMQ 3.10 (which decodes the properties on publish): 541, naming no method,
    rather than kept until something read the table (interop: property_decoding.*)."""
    client = RawClient()
    client.method(commands.Queue.Declare, queue="q0")
    [close] = client.publish(headers)
    assert close.ids == (10, 50)
    assert close.payload[4:] == struct.pack(">H", 541) + shortstr(b"INTERNAL_ERROR") + bytes(4)


def test_headers_nested_past_recursion_match_no_binding() -> None:
    """Was: RecursionError out of receive_data when a headers exchange matched them."""
    client = RawClient()
    client.method(commands.Queue.Declare, queue="q0")
    match = [(b"x-match", b"S", b"any"), (b"k", b"S", b"v")]
    bind = method_frame(1, commands.Queue.Bind, queue="q0", exchange="amq.headers", arguments=match)
    client.send(frame_bytes(*bind))
    publish = method_frame(1, commands.Basic.Publish, exchange="amq.headers", routing_key="")
    header = (2, 1, content_header(1, {"headers": nested_tables(3000)}))
    assert client.send(serialise([publish, header, (3, 1, b"x")])) == []
    frames = client.method(commands.Basic.Get, queue="q0", no_ack=True)
    assert [f.ids for f in frames] == [(60, 72)]  # get-empty
