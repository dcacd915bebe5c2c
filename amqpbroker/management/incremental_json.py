"""A JSON object parsed a value at a time: a definitions document of 10,000 queues is 2.6 MB,
and ``json.loads`` holds the event loop ~50 ms on it.

``object_steps(text, into)`` fills ``into`` from the JSON object ``text`` and yields after
each top-level value and after each element of a top-level array (the sections of a
definitions document), so that the caller may give the loop back between two.  Each
element is parsed by the standard decoder (``raw_decode``): the answer is ``json.loads``'s,
and so are the errors (``ValueError``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterator
from typing import Any

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace, as the json module reads it


def decode_text(raw: bytes) -> str:
    """The body's text, in the encoding ``json.loads`` would detect for it."""
    return raw.decode(json.detect_encoding(raw))


def object_steps(text: str, into: dict[str, Any]) -> Iterator[None]:
    """Parse the JSON object ``text`` into ``into``, a step a value (see the module)."""
    index = _skip(text, 0)
    if text[index : index + 1] != "{":
        raise ValueError("not a JSON object")
    index = _skip(text, index + 1)
    if text[index : index + 1] == "}":
        return _at_end(text, index + 1)
    while True:
        if text[index : index + 1] != '"':
            raise ValueError(f"a key expected at {index}")
        key, index = _DECODER.raw_decode(text, index)
        index = _skip(text, index)
        if text[index : index + 1] != ":":
            raise ValueError(f"':' expected at {index}")
        index = _skip(text, index + 1)
        if text[index : index + 1] == "[":
            value, index = yield from _array_steps(text, index)
        else:
            value, index = _DECODER.raw_decode(text, index)
        into[key] = value
        yield
        index = _skip(text, index)
        separator = text[index : index + 1]
        if separator == "}":
            return _at_end(text, index + 1)
        if separator != ",":
            raise ValueError(f"',' or '}}' expected at {index}")
        index = _skip(text, index + 1)


def _array_steps(text: str, index: int) -> Generator[None, None, tuple[list[Any], int]]:
    """The array at ``text[index]`` ("["), an element a step; and where it ends."""
    items: list[Any] = []
    index = _skip(text, index + 1)
    if text[index : index + 1] == "]":
        return items, index + 1
    while True:
        item, index = _DECODER.raw_decode(text, index)
        items.append(item)
        yield
        index = _skip(text, index)
        separator = text[index : index + 1]
        if separator == "]":
            return items, index + 1
        if separator != ",":
            raise ValueError(f"',' or ']' expected at {index}")
        index = _skip(text, index + 1)


def _skip(text: str, index: int) -> int:
    match = _SPACE.match(text, index)
    return match.end() if match else index


def _at_end(text: str, index: int) -> None:
    if _skip(text, index) != len(text):
        raise ValueError(f"extra data at {index}")
