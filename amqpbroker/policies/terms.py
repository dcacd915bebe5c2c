"""JSON values as RabbitMQ's validation texts print them: Erlang's ``~p`` of the decoded term.

A JSON string is a binary (``<<"x">>``), a number an integer or float, ``true``/``false``/
``null`` atoms, an array a list, an object a map with its keys in Erlang's order.  A term
that would run past column 79 is broken one element a line, indented past its bracket, as
``~p`` does for the short terms these texts carry.  ``html_escaped``: the management
plugin's escaping of the texts it returns for policies and parameters.
"""

from __future__ import annotations

from typing import Any

LINE_LENGTH = 80
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


class Tuple(tuple[Any, ...]):
    """An Erlang tuple (``{a,b}``); a plain Python tuple or list prints as a list."""


class Chars(str):
    """An Erlang string (a list of characters): ``"text"``."""


def erlang_sorted(value: Any) -> Any:
    """``value`` with every JSON object's keys in Erlang's order (UTF-8 bytes), as RabbitMQ
    stores and returns a map it decoded."""
    if isinstance(value, dict):
        return {k: erlang_sorted(value[k]) for k in sorted(value, key=lambda k: k.encode())}
    if isinstance(value, list):
        return [erlang_sorted(item) for item in value]
    return value


def _quoted(text: str) -> str:
    return '"' + "".join(_ESCAPES.get(c, c) for c in text) + '"'


def _float(value: float) -> str:
    text = repr(value)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return f"{mantissa if '.' in mantissa else mantissa + '.0'}e{int(exponent)}"


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, Chars):
        return _quoted(value)
    if isinstance(value, str):
        suffix = "" if all(ord(c) < 256 for c in value) else "/utf8"
        return f"<<{_quoted(value)}{suffix}>>"
    raise TypeError(f"not a JSON value: {value!r}")


def _parts(value: Any) -> tuple[str, str, list[Any]] | None:
    """(opening, closing, elements) of a compound term; None for a scalar."""
    if isinstance(value, Tuple):
        return "{", "}", list(value)
    if isinstance(value, list | tuple):
        return "[", "]", list(value)
    if isinstance(value, dict):
        pairs = [_Pair(k, value[k]) for k in sorted(value, key=lambda k: str(k).encode())]
        return "#{", "}", pairs
    return None


class _Pair:
    """A map's ``key => value``."""

    def __init__(self, key: Any, value: Any) -> None:
        self.key, self.value = key, value


def flat(value: Any) -> str:
    """The term on one line."""
    if isinstance(value, _Pair):
        return f"{flat(value.key)} => {flat(value.value)}"
    parts = _parts(value)
    if parts is None:
        return _scalar(value)
    opening, closing, elements = parts
    return opening + ",".join(flat(e) for e in elements) + closing


def pretty(value: Any, column: int = 0) -> str:
    """The term as ``~p`` prints it starting at ``column``."""
    one_line = flat(value)
    parts = _parts(value)
    if parts is None or column + len(one_line) < LINE_LENGTH - 1:
        return one_line
    opening, closing, elements = parts
    inner = column + len(opening)
    rendered = [_pretty_element(e, inner) for e in elements]
    return opening + (",\n" + " " * inner).join(rendered) + closing


def _pretty_element(element: Any, column: int) -> str:
    if isinstance(element, _Pair):
        key = flat(element.key) + " => "
        return key + pretty(element.value, column + len(key))
    return pretty(element, column)


def format_term(template: str, value: Any) -> str:
    """``template`` with its one ``~p`` replaced by the term printed at that column."""
    before, after = template.split("~p", 1)
    column = len(before) - before.rfind("\n") - 1
    return before + pretty(value, column) + after


def html_escaped(text: str) -> str:
    """``&``, ``<`` and ``>`` as HTML entities (the management plugin's escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
