"""How ``amqpbroker ctl`` prints a value, as rabbitmqctl 3.10.8 printed the same values
(recorded against the reference broker): table cells, the table, ``--formatter json``."""

from __future__ import annotations

import json

import pytest

from amqpbroker.api_client.ctl.output import cell, json_rows, json_value, table


@pytest.mark.parametrize(
    ("value", "column", "shown"),
    [
        (True, "durable", "true"),
        (False, "exclusive", "false"),
        (None, "policy", ""),
        (0, "messages", "0"),
        (["management", "policymaker"], "tags", "[management, policymaker]"),
        ([], "tags", "[]"),
        ({}, "arguments", "[]"),
        ({"x-message-ttl": 60000}, "arguments", '[{"x-message-ttl",60000}]'),
        (  # recorded: sorted by key, strings quoted, booleans bare
            {"x-single-active-consumer": True, "x-dead-letter-exchange": "dlx", "x-max-length": 5},
            "arguments",
            '[{"x-dead-letter-exchange","dlx"},{"x-max-length",5},{"x-single-active-consumer",true}]',
        ),
        ({"max-length": 10}, "definition", '{"max-length":10}'),
        ((0, 9, 1), "protocol", "{0,9,1}"),
    ],
)
def test_a_cell_is_shown_as_rabbitmqctl_shows_it(value: object, column: str, shown: str) -> None:
    assert cell(value, column) == shown


def test_json_arguments_carry_amqp_field_types() -> None:
    arguments = {
        "x-single-active-consumer": True,
        "x-dead-letter-exchange": "dlx",
        "x-max-length": 5,
    }
    assert json_value(arguments, "arguments") == [
        ["x-dead-letter-exchange", "longstr", "dlx"],
        ["x-max-length", "long", 5],
        ["x-single-active-consumer", "bool", True],
    ]
    assert json_value(None, "policy") == ""
    assert json_value("127.0.0.1", "peer_host") == [127, 0, 0, 1]  # recorded: the tuple
    assert json_value((0, 9, 1), "protocol") == [0, 9, 1]


def test_json_rows_are_streamed_one_object_a_line() -> None:
    rows = [{"name": "a", "messages": 1}, {"name": "b", "messages": 0}]
    text = json_rows(rows, ["name", "messages"])
    assert text == '[\n{"name":"a","messages":1}\n,{"name":"b","messages":0}\n]\n'
    assert json.loads(text) == rows
    assert json_rows([], ["name"]) == "[\n]\n"


def test_a_table_has_its_header_only_when_there_are_rows() -> None:
    rows = [{"name": "q", "messages": 2}]
    assert table(rows, ["name", "messages"], header=True) == "name\tmessages\nq\t2\n"
    assert table(rows, ["name", "messages"], header=False) == "q\t2\n"
    assert table([], ["name", "messages"], header=True) == ""
