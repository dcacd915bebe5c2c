"""Octets rendered the way RabbitMQ's error texts print Erlang binaries."""

from __future__ import annotations

import pytest

from amqpbroker.protocol.erlang import binary, float_, frame_octets


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"", "<<>>"),
        (b"abc", '<<"abc">>'),
        (b"a b~", '<<"a b~">>'),
        (b'say "hi"', '<<"say \\"hi\\"">>'),
        (b"back\\slash", '<<"back\\\\slash">>'),
        (b"tab\there\n", '<<"tab\\there\\n">>'),
        (b"\r\v\f\b\x1b", '<<"\\r\\v\\f\\b\\e">>'),
        (b"\xe9t\xe9", '<<"\xe9t\xe9">>'),  # Latin-1 letters are printable to Erlang
        (b"\x00", "<<0>>"),
        (b"abc\x00", "<<97,98,99,0>>"),
        (b"\x7f", "<<127>>"),
        (b"\x9f", "<<159>>"),
        (b"\x01\x02\xff", "<<1,2,255>>"),
    ],
)
def test_binary_rendering(data, text):
    assert binary(data) == text


def test_binary_as_numbers_even_when_printable():
    assert binary(b"abc", as_numbers=True) == "<<97,98,99>>"
    assert binary(b"", as_numbers=True) == "<<>>"


@pytest.mark.parametrize(
    ("payload", "text"),
    [
        (b"", "all octets = <<>>"),
        (b"abc", 'all octets = <<"abc">>'),
        (b"a" * 16, 'all octets = <<"aaaaaaaaaaaaaaaa">>'),
        (b"abcdefghijklmnopq", 'first 16 octets = <<"abcdefghijklmnop">>'),
        (bytes(range(40)), "first 16 octets = <<0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15>>"),
        (b"abcdefghijklmnop\x00", 'first 16 octets = <<"abcdefghijklmnop">>'),
    ],
)
def test_frame_octets(payload, text):
    assert frame_octets(payload) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.5, "1.5"), (100.0, "100.0"), (1e20, "1.0e20"), (1.5e-7, "1.5e-7"), (-2e-5, "-2.0e-5")],
)
def test_float_rendering(value, text):
    assert float_(value) == text
