"""Method frames other than the hot ones: decode_method and encode_method against pamqp."""

from __future__ import annotations

import datetime
import decimal
import struct
import warnings

import pytest
from pamqp import commands, frame

from amqpbroker.errors import FrameError
from amqpbroker.protocol.fieldtable import TypedTable, encode_table, table_terms, table_types
from amqpbroker.protocol.methods import (
    UnknownMethod,
    decode_method,
    encode_method,
    make_method,
    method_ids,
)


def recover_async():
    """pamqp warns that basic.recover-async is deprecated; RabbitMQ still accepts it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return commands.Basic.RecoverAsync(requeue=True)


ARGS = {"x-max-length": 10, "x-message-ttl": 600000, "x-queue-type": "classic", "flag": True}
DECLARE_WITH_ARGS = commands.Queue.Declare(queue="q", durable=True, exclusive=True, arguments=ARGS)

# Every method a client sends to a broker (Basic.Publish is also decodable here).
CLIENT_METHODS = [
    commands.Connection.StartOk(
        client_properties={"product": "pika", "capabilities": {"publisher_confirms": True}},
        mechanism="PLAIN",
        response="\x00guest\x00guest",
        locale="en_US",
    ),
    commands.Connection.SecureOk(response="secret"),
    commands.Connection.TuneOk(channel_max=2047, frame_max=131072, heartbeat=60),
    commands.Connection.Open(virtual_host="/"),
    commands.Connection.Close(
        reply_code=200, reply_text="Normal shutdown", class_id=0, method_id=0
    ),
    commands.Connection.CloseOk(),
    commands.Connection.UpdateSecret(new_secret="token", reason="refresh"),
    commands.Channel.Open(),
    commands.Channel.Flow(active=False),
    commands.Channel.FlowOk(active=True),
    commands.Channel.Close(reply_code=406, reply_text="bye", class_id=50, method_id=10),
    commands.Channel.CloseOk(),
    commands.Exchange.Declare(
        exchange="logs",
        exchange_type="topic",
        durable=True,
        auto_delete=True,
        internal=True,
        arguments={"alternate-exchange": "ae"},
    ),
    commands.Exchange.Declare(exchange="passive", passive=True, nowait=True),
    commands.Exchange.Delete(exchange="logs", if_unused=True, nowait=True),
    commands.Exchange.Bind(destination="d", source="s", routing_key="a.#", arguments={"k": 1}),
    commands.Exchange.Unbind(destination="d", source="s", routing_key="a.#", nowait=True),
    DECLARE_WITH_ARGS,
    commands.Queue.Declare(queue="", auto_delete=True, nowait=True),
    commands.Queue.Declare(queue="q", passive=True),
    commands.Queue.Bind(queue="q", exchange="amq.topic", routing_key="#", arguments=ARGS),
    commands.Queue.Purge(queue="q", nowait=True),
    commands.Queue.Delete(queue="q", if_unused=True, if_empty=True),
    commands.Queue.Unbind(queue="q", exchange="x", routing_key="k", arguments={"a": "b"}),
    commands.Basic.Qos(prefetch_size=0, prefetch_count=10, global_=True),
    commands.Basic.Consume(
        queue="q",
        consumer_tag="ctag",
        no_local=True,
        no_ack=True,
        exclusive=True,
        arguments={"x-priority": 5},
    ),
    commands.Basic.Cancel(consumer_tag="ctag", nowait=True),
    commands.Basic.Publish(exchange="x", routing_key="k", mandatory=True, immediate=True),
    commands.Basic.Get(queue="q", no_ack=True),
    commands.Basic.Ack(delivery_tag=2**63 - 1, multiple=True),
    commands.Basic.Reject(delivery_tag=7, requeue=False),
    recover_async(),
    commands.Basic.Recover(requeue=True),
    commands.Basic.Nack(delivery_tag=3, multiple=True, requeue=False),
    commands.Tx.Select(),
    commands.Tx.Commit(),
    commands.Tx.Rollback(),
    commands.Confirm.Select(nowait=True),
]

# Every method a broker sends (tables with sorted keys: pamqp sorts, encode_table does not).
SERVER_METHODS = [
    commands.Connection.Start(
        server_properties={
            "capabilities": {"basic.nack": True, "publisher_confirms": True},
            "product": "amqpbroker",
            "version": "0.1.0",
        },
        mechanisms="AMQPLAIN PLAIN",
        locales="en_US",
    ),
    commands.Connection.Secure(challenge=""),
    commands.Connection.Tune(channel_max=2047, frame_max=131072, heartbeat=60),
    commands.Connection.OpenOk(),
    commands.Connection.Close(
        reply_code=320, reply_text="CONNECTION_FORCED - bye", class_id=0, method_id=0
    ),
    commands.Connection.CloseOk(),
    commands.Connection.Blocked(reason="low on memory"),
    commands.Connection.Unblocked(),
    commands.Connection.UpdateSecretOk(),
    commands.Channel.OpenOk(),
    commands.Channel.Flow(active=True),
    commands.Channel.FlowOk(active=False),
    commands.Channel.Close(
        reply_code=404, reply_text="NOT_FOUND - no queue 'q'", class_id=50, method_id=10
    ),
    commands.Channel.CloseOk(),
    commands.Exchange.DeclareOk(),
    commands.Exchange.DeleteOk(),
    commands.Exchange.BindOk(),
    commands.Exchange.UnbindOk(),
    commands.Queue.DeclareOk(queue="amq.gen-abc", message_count=3, consumer_count=1),
    commands.Queue.BindOk(),
    commands.Queue.PurgeOk(message_count=42),
    commands.Queue.DeleteOk(message_count=0),
    commands.Queue.UnbindOk(),
    commands.Basic.QosOk(),
    commands.Basic.ConsumeOk(consumer_tag="amq.ctag-xyz"),
    commands.Basic.Cancel(consumer_tag="amq.ctag-xyz", nowait=True),
    commands.Basic.CancelOk(consumer_tag="amq.ctag-xyz"),
    commands.Basic.GetEmpty(),
    commands.Basic.RecoverOk(),
    commands.Basic.Ack(delivery_tag=1, multiple=False),
    commands.Basic.Nack(delivery_tag=9, multiple=True, requeue=False),
    commands.Tx.SelectOk(),
    commands.Tx.CommitOk(),
    commands.Tx.RollbackOk(),
    commands.Confirm.SelectOk(),
]


def payload_of(method) -> bytes:
    """The method frame payload pamqp produces (frame header and frame-end stripped)."""
    return frame.marshal(method, 1)[7:-1]


pytestmark = pytest.mark.filterwarnings("ignore:This command is deprecated:DeprecationWarning")


def sorted_table(table):
    """The table with keys sorted at every level, as pamqp encodes it."""
    if not isinstance(table, dict):
        return table
    return {key: sorted_table(table[key]) for key in sorted(table)}


def ids(methods):
    return [f"{m.name}-{index}" for index, m in enumerate(methods)]


@pytest.mark.parametrize("method", CLIENT_METHODS, ids=ids(CLIENT_METHODS))
def test_decode_round_trips_client_methods(method):
    decoded = decode_method(payload_of(method))
    assert type(decoded) is type(method)
    assert list(decoded) == list(method)


@pytest.mark.parametrize(
    "method", SERVER_METHODS + CLIENT_METHODS, ids=ids(SERVER_METHODS + CLIENT_METHODS)
)
def test_encode_method_equals_pamqp_marshal(method):
    fields = {
        name: sorted_table(value) if method.amqp_type(name) == "table" else value
        for name, value in method
    }
    method = make_method(type(method), **fields)
    assert encode_method(5, method) == frame.marshal(method, 5)


def test_decoded_arguments_carry_wire_types():
    decoded = decode_method(payload_of(DECLARE_WITH_ARGS))
    assert isinstance(decoded.arguments, TypedTable)
    assert decoded.arguments == ARGS
    # pamqp picks the smallest integer type that fits
    assert decoded.arguments.types == {
        "x-max-length": "byte",
        "x-message-ttl": "signedint",
        "x-queue-type": "longstr",
        "flag": "bool",
    }


def entry(key: str, kind: bytes, value: bytes) -> bytes:
    return bytes((len(key),)) + key.encode() + kind + value


def test_every_wire_type_is_named_as_rabbitmq_names_it():
    entries = [
        entry("bool", b"t", b"\x01"),
        entry("byte", b"b", b"\xff"),
        entry("unsignedbyte", b"B", b"\xff"),
        entry("short", b"s", struct.pack(">h", -2)),
        entry("unsignedshort", b"u", struct.pack(">H", 65535)),
        entry("signedint", b"I", struct.pack(">i", -5)),
        entry("unsignedint", b"i", struct.pack(">I", 2**32 - 1)),
        entry("long", b"l", struct.pack(">q", 10)),
        entry("float", b"f", struct.pack(">f", 1.5)),
        entry("double", b"d", struct.pack(">d", 2.25)),
        entry("decimal", b"D", b"\x02" + struct.pack(">i", 314)),
        entry("longstr", b"S", b"\x00\x00\x00\x03abc"),
        entry("binary", b"x", b"\x00\x00\x00\x02\x00\xff"),
        entry("timestamp", b"T", struct.pack(">Q", 1_700_000_000)),
        entry("table", b"F", b"\x00\x00\x00\x00"),
        entry("array", b"A", b"\x00\x00\x00\x02b\x01"),
        entry("void", b"V", b""),
    ]
    table = b"".join(entries)
    payload = (
        b"\x00\x32\x00\x0a\x00\x00\x01q\x00" + struct.pack(">I", len(table)) + table
    )  # Queue.Declare: ticket, queue 'q', bits, arguments
    arguments = decode_method(payload).arguments
    assert arguments.types == {name: name for name in arguments}
    assert len(arguments.types) == len(entries)
    assert arguments["short"] == -2
    assert arguments["unsignedint"] == 2**32 - 1
    assert arguments["decimal"] == decimal.Decimal("3.14")
    assert arguments["void"] is None
    assert arguments["array"] == [1]


def test_table_types_reads_from_an_offset():
    encoded = b"junk" + encode_table({"a": 1, "b": "text", "c": 2**40})
    assert table_types(encoded, 4) == {"a": "byte", "b": "longstr", "c": "long"}


def test_table_terms_print_what_python_values_cannot_show():
    """Erlang's ~p of tables, arrays, timestamps and floats, as RabbitMQ's 406 texts show
    them; values that print the same from Python get no term."""
    entries = b"".join(
        (
            b"\x01FF\x00\x00\x00\x0c\x01aA\x00\x00\x00\x05I\x00\x00\x00\x01",  # {a: [1]}
            b"\x01TT\x00\x00\x00\x00\x00\x00\x00\x05",  # timestamp 5
            b"\x01dd" + struct.pack(">d", 1e22),
            b"\x01SS\x00\x00\x00\x01s",
        )
    )
    encoded = struct.pack(">I", len(entries)) + entries
    types = table_types(encoded, 0)
    assert table_terms(encoded, 0, types) == {
        "F": '[{<<"a">>,array,[{signedint,1}]}]',
        "T": "5",
        "d": "1.0e22",
    }
    assert table_terms(encoded, 0, {"S": "longstr"}) == {}


def test_empty_arguments_stay_a_plain_empty_value():
    decoded = decode_method(payload_of(commands.Queue.Declare(queue="q")))
    assert decoded.arguments == {}
    assert not isinstance(decoded.arguments, TypedTable)


def test_nested_tables_keep_values():
    method = commands.Basic.Consume(
        queue="q",
        arguments={
            "x-args": {"inner": [1, "two", {"deep": True}]},
            "when": datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC),
        },
    )
    decoded = decode_method(payload_of(method))
    assert decoded.arguments == method.arguments
    assert decoded.arguments.types == {"when": "timestamp", "x-args": "table"}


@pytest.mark.parametrize(
    "method",
    [
        commands.Basic.Qos(prefetch_count=1),
        commands.Queue.Declare(queue="q", arguments={"a": 1}),
        commands.Basic.Ack(delivery_tag=1),
        commands.Tx.Select(),
        commands.Channel.Open(),
    ],
    ids=lambda m: m.name,
)
def test_trailing_octets_cannot_be_decoded(method):
    payload = payload_of(method)
    with pytest.raises(FrameError) as error:
        decode_method(payload + b"\x00\x01")
    numbers = ",".join(str(octet) for octet in payload[4:] + b"\x00\x01")
    assert error.value.message == f"cannot decode <<{numbers}>>"
    assert (error.value.class_id, error.value.method_id) == method_ids(method)
    assert error.value.reply_code == 501


@pytest.mark.parametrize(
    "method",
    [
        commands.Basic.Qos(prefetch_count=1),
        commands.Queue.Declare(queue="queue", arguments={"a": 1}),
        commands.Queue.Bind(queue="q", exchange="x", routing_key="k"),
        commands.Basic.Ack(delivery_tag=1),
        commands.Connection.TuneOk(channel_max=1, frame_max=4096, heartbeat=0),
    ],
    ids=lambda m: m.name,
)
def test_truncated_arguments_cannot_be_decoded(method):
    payload = payload_of(method)
    for cut in range(4, len(payload)):
        with pytest.raises(FrameError, match=r"^cannot decode <<[0-9,]*>>$") as error:
            decode_method(payload[:cut])
        assert (error.value.class_id, error.value.method_id) == method_ids(method)


def test_cannot_decode_renders_printable_octets_as_numbers():
    with pytest.raises(FrameError) as error:
        decode_method(b"\x00\x32\x00\x14" + b"\x00\x00\x05abc")  # Queue.Bind, queue cut short
    assert error.value.message == "cannot decode <<0,0,5,97,98,99>>"


@pytest.mark.parametrize(
    ("payload", "text"),
    [
        (b"\x00\x0a\x00\x63", "unknown method 10.99"),
        (b"\x00\x63\x00\x0a", "unknown method 99.10"),
        (b"\xff\xff\xff\xff\x00", "unknown method 65535.65535"),
    ],
)
def test_unknown_method_ids(payload, text):
    with pytest.raises(UnknownMethod, match=rf"^{text}$"):
        decode_method(payload)


def test_method_ids():
    assert method_ids(commands.Queue.Declare()) == (50, 10)
    assert method_ids(commands.Basic.Nack()) == (60, 120)


def test_encode_accepts_names_pamqp_rejects():
    with pytest.raises(ValueError, match="Invalid value for queue"):
        commands.Queue.DeclareOk(queue="logs!", message_count=0, consumer_count=0)
    method = make_method(commands.Queue.DeclareOk, queue="logs!", message_count=1, consumer_count=2)
    wire = encode_method(3, method)
    assert wire[:7] == b"\x01\x00\x03" + struct.pack(">I", len(wire) - 8)
    assert wire[-1:] == b"\xce"
    decoded = decode_method(wire[7:-1])
    assert (decoded.queue, decoded.message_count, decoded.consumer_count) == ("logs!", 1, 2)


def test_decode_accepts_names_pamqp_rejects():
    payload = b"\x00\x28\x00\x0a\x00\x00\x05logs!\x06fanout\x00\x00\x00\x00\x00"
    decoded = decode_method(payload)  # Exchange.Declare
    assert (decoded.exchange, decoded.exchange_type) == ("logs!", "fanout")


def test_encode_keeps_table_order():
    method = make_method(
        commands.Connection.Start,
        version_major=0,
        version_minor=9,
        server_properties={"product": "p", "capabilities": {"z": True, "a": False}},
        mechanisms="PLAIN",
        locales="en_US",
    )
    wire = encode_method(0, method)
    assert wire.index(b"product") < wire.index(b"capabilities")
    assert wire.index(b"\x01z") < wire.index(b"\x01a")


def test_make_method_skips_validation():
    method = make_method(commands.Basic.Deliver, exchange="bad name!")
    assert method.exchange == "bad name!"
    assert method.consumer_tag is None  # untouched fields keep their defaults


def test_bits_pack_in_order():
    method = commands.Queue.Declare(
        queue="q", passive=False, durable=True, exclusive=False, auto_delete=True, nowait=True
    )
    wire = encode_method(1, method)
    assert wire[7 + 4 + 2 + 2] == 0b11010
