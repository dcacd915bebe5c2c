"""The class and method ids the hand-written codecs and the session's fast paths name.

A method frame's payload starts with its class id and method id, two octets each; read as one
32-bit integer that is the method's *index* (pamqp's ``Method.index``).  Every other method
goes through pamqp, which has its own table.
"""

from __future__ import annotations

BASIC_CLASS = 60

PUBLISH_INDEX = 0x003C0028
RETURN_INDEX = 0x003C0032
DELIVER_INDEX = 0x003C003C
GET_OK_INDEX = 0x003C0047
ACK_INDEX = 0x003C0050
REJECT_INDEX = 0x003C005A
NACK_INDEX = 0x003C0078


def class_and_method(index: int) -> tuple[int, int]:
    """(class id, method id) of a method index, as errors and channel.close carry them."""
    return index >> 16, index & 0xFFFF


def prefix(index: int) -> bytes:
    """The first four octets of a method frame's payload for ``index``."""
    return index.to_bytes(4, "big")


PUBLISH_IDS = class_and_method(PUBLISH_INDEX)
ACK_IDS = class_and_method(ACK_INDEX)
