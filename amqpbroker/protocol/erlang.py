"""Render octets the way RabbitMQ's error texts do (Erlang's ``~p`` / ``~w`` of a binary)."""

from __future__ import annotations

_PRINTABLE = frozenset(range(32, 127)) | frozenset(range(160, 256)) | frozenset(b"\t\n\r\v\f\b\x1b")
_ESCAPES = {
    ord("\t"): "\\t",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\v"): "\\v",
    ord("\f"): "\\f",
    ord("\b"): "\\b",
    0x1B: "\\e",
    ord('"'): '\\"',
    ord("\\"): "\\\\",
}


def binary(data: bytes, *, as_numbers: bool = False) -> str:
    """``<<"abc">>`` when every octet is printable (unless ``as_numbers``), else ``<<0,1>>``."""
    if not data:
        return "<<>>"
    if not as_numbers and all(octet in _PRINTABLE for octet in data):
        text = "".join(_ESCAPES.get(octet, chr(octet)) for octet in data)
        return f'<<"{text}">>'
    return "<<" + ",".join(str(octet) for octet in data) + ">>"


def char_list(data: bytes) -> str:
    """A list of octets as ``~p`` prints an Erlang string: quoted if printable, else numbers."""
    if all(octet in _PRINTABLE for octet in data):
        # The octets go out as they are (surrogateescape carries any that are not UTF-8).
        text = data.decode("utf-8", "surrogateescape")
        return '"' + "".join(_ESCAPES.get(ord(c), c) for c in text) + '"'
    return "[" + ",".join(str(octet) for octet in data) + "]"


def float_(value: float) -> str:
    """A float as ``~p`` prints it: shortest round trip, ``1.0e20`` rather than ``1e+20``."""
    text = repr(value)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}e{int(exponent)}"


def frame_octets(payload: bytes) -> str:
    """RabbitMQ's frame description: all octets, or the first 16 of a longer payload."""
    if len(payload) <= 16:
        return f"all octets = {binary(payload)}"
    return f"first 16 octets = {binary(payload[:16])}"


LINE_LENGTH = 80  # Erlang's ~p wraps terms that would run past this column


def after(prefix: str, *elements: str) -> str:
    """``prefix`` followed by the tuple ``{elements}`` printed as ``~p`` would print it there:
    on one line if it fits, else one element per line, indented past the brace."""
    column = len(prefix) - prefix.rfind("\n") - 1
    one_line = "{" + ",".join(elements) + "}"
    if column + len(one_line) < LINE_LENGTH - 1:  # (observed: 79 columns already wrap)
        return prefix + one_line
    return prefix + "{" + (",\n" + " " * (column + 1)).join(elements) + "}"
