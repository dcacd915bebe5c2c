"""What rabbitmqctl 3.10.8 prints: values in a table cell (``true``, ``[a, b]``,
``[{"x-max-length",5}]``, empty for none), the tab-separated table with its header line, and
``--formatter json`` (one object per line between ``[`` and ``]``, typed values)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

Row = dict[str, Any]


def cell(value: Any, column: str = "") -> str:
    """A value as rabbitmqctl's table formatter shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if column == "arguments" and isinstance(value, dict):
        return "[" + ",".join(f"{{{_term(k)},{_term(v)}}}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, list):
        return "[" + ", ".join(cell(item) for item in value) + "]"
    if isinstance(value, tuple):  # an Erlang tuple: a connection's protocol {0,9,1}
        return "{" + ",".join(str(item) for item in value) + "}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _term(value: Any) -> str:
    """A table value inside ``arguments``: strings quoted, numbers and booleans bare."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "[" + ",".join(f"{{{_term(k)},{_term(v)}}}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + ",".join(_term(item) for item in value) + "]"
    return str(value)


def table(rows: Sequence[Row], columns: Sequence[str], header: bool) -> str:
    """The header line (when wanted and there are rows) then one tab-separated line a row."""
    if not rows:
        return ""
    lines = ["\t".join(columns)] if header else []
    lines += ["\t".join(cell(row.get(column), column) for column in columns) for row in rows]
    return "\n".join(lines) + "\n"


def json_value(value: Any, column: str) -> Any:
    """A value as ``--formatter json`` shows it: none is ``""``, arguments are
    ``[[name, type, value], ...]`` with AMQP's field type names."""
    if value is None:
        return ""
    if column == "arguments" and isinstance(value, dict):
        return [[name, _field_type(item), item] for name, item in sorted(value.items())]
    if column in ("host", "peer_host") and _is_ipv4(value):
        return [int(part) for part in value.split(".")]  # RabbitMQ's JSON: the address tuple
    if isinstance(value, tuple):
        return list(value)
    return value


def _is_ipv4(value: Any) -> bool:
    parts = value.split(".") if isinstance(value, str) else []
    return len(parts) == 4 and all(part.isdigit() for part in parts)


def _field_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, dict):
        return "table"
    if isinstance(value, list):
        return "array"
    return "longstr"


def json_rows(rows: Sequence[Row], columns: Sequence[str]) -> str:
    """``[`` / ``{...}`` / ``,{...}`` / ``]``, as rabbitmqctl's JSON formatter streams it."""
    objects = [
        json.dumps({c: json_value(row.get(c), c) for c in columns}, separators=(",", ":"))
        for row in rows
    ]
    return (
        "[\n" + "".join(("," if n else "") + text + "\n" for n, text in enumerate(objects)) + "]\n"
    )
