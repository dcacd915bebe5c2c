"""When the certificates of a PEM file expire: what the certificate-expiration health check
needs, read straight off each certificate's DER (its ``validity.notAfter``).

A file that cannot be read, or holds no certificate, yields an error text instead, as
RabbitMQ's check reports it.  Other PEM entries (a private key kept with the certificate)
are passed over, where RabbitMQ reports them as errors, so a file holding the key too
would always fail its check.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re

_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)
_TIME_TAGS = {0x17: "%y%m%d%H%M%SZ", 0x18: "%Y%m%d%H%M%SZ"}  # UTCTime, GeneralizedTime


def expiries(path: str) -> list[datetime.datetime] | str:
    """The notAfter of each certificate in the file, or why there is none."""
    try:
        with open(path, "rb") as file:
            pem = file.read()
    except OSError as error:
        return f"{error.strerror or error}"
    blocks = [body for kind, body in _PEM.findall(pem) if kind == b"CERTIFICATE"]
    if not blocks:
        return "The certificate file provided does not contain any PEM entry."
    found: list[datetime.datetime] = []
    for body in blocks:
        try:
            found.append(_not_after(base64.b64decode(body)))
        except (binascii.Error, ValueError, IndexError, KeyError):
            return "The certificate file provided does not contain any PEM entry."
    return found


def _element(data: bytes, at: int) -> tuple[int, bytes, int]:
    """(tag, content, offset after it) of the DER element at ``at``."""
    tag, length, at = data[at], data[at + 1], at + 2
    if length & 0x80:
        count = length & 0x7F
        length, at = int.from_bytes(data[at : at + count], "big"), at + count
    return tag, data[at : at + length], at + length


def _not_after(der: bytes) -> datetime.datetime:
    _, certificate, _ = _element(der, 0)
    _, tbs, _ = _element(certificate, 0)
    at = 0
    if tbs[0] == 0xA0:  # [0] version
        at = _element(tbs, at)[2]
    for _skipped in range(3):  # serialNumber, signature, issuer
        at = _element(tbs, at)[2]
    _, validity, _ = _element(tbs, at)
    _, _, after_before = _element(validity, 0)
    tag, when, _ = _element(validity, after_before)
    moment = datetime.datetime.strptime(when.decode(), _TIME_TAGS[tag])
    return moment.replace(tzinfo=datetime.UTC)
