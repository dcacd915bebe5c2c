"""A client certificate's subject as a user name, for EXTERNAL: RabbitMQ 3.10.8's rendering.

``ssl_cert_login_from = distinguished_name`` (the default) logs in as the whole subject,
written as rabbit_cert_info writes it: the RDNs last first (RFC 4514's order), separated
by ``,``, the attributes of a multi-valued RDN by ``+``, each ``TYPE=value`` with
RabbitMQ's own short names for the types it knows and the dotted OID for the others.
A value is escaped byte by byte on its UTF-8 form: a leading space or ``#``, a trailing
space and ``" + , ; < > \\`` get a backslash; bytes under 32 and from 126 up (``~``
included, as RabbitMQ does) become ``\\XX`` in upper-case hex.  So
``C=GB, O=Acme, CN=app`` logs in as ``CN=app,O=Acme,C=GB``.

``common_name`` logs in as the CN, unescaped; several CNs are joined with ``,``.
``subject_alternative_name`` logs in as the Nth (``ssl_cert_login_san_index``, from 0)
subject alternative name of one type (``ssl_cert_login_san_type``: dns, email or uri).

The subject comes in as the TLS layer reads it: RDNs in certificate order, each a tuple
of (dotted OID, value) pairs.
"""

from __future__ import annotations

from collections.abc import Sequence

Subject = Sequence[Sequence[tuple[str, str]]]

DISTINGUISHED_NAME = "distinguished_name"
COMMON_NAME = "common_name"
ALTERNATIVE_NAME = "subject_alternative_name"
LOGIN_FROM = (DISTINGUISHED_NAME, COMMON_NAME, ALTERNATIVE_NAME, "subject_alt_name")
# ssl_cert_login_san_type: the name the TLS layer gives each type.  (RabbitMQ also takes
# ip, which logs in as the address's raw bytes, and other_name: not offered here.)
SAN_TYPES = {"dns": "DNS", "email": "email", "uri": "URI"}

COMMON_NAME_OID = "2.5.4.3"
# rabbit_cert_info's table.  (Its STREET entry never matches in 3.10.8: the macro it names
# is an X.400 attribute number, not the street address OID, so 2.5.4.9 prints as digits.)
ATTRIBUTE_NAMES = {
    "2.5.4.4": "SN",
    "2.5.4.42": "GIVENNAME",
    "2.5.4.43": "INITIALS",
    "2.5.4.44": "GENERATIONQUALIFIER",
    COMMON_NAME_OID: "CN",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.12": "TITLE",
    "2.5.4.6": "C",
    "2.5.4.5": "SERIALNUMBER",
    "2.5.4.65": "PSEUDONYM",
    "0.9.2342.19200300.100.1.25": "DC",
    "1.2.840.113549.1.9.1": "EMAILADDRESS",
    "0.9.2342.19200300.100.1.1": "UID",
}

_BACKSLASHED = frozenset(b'"+,;<>\\')
_SPACE, _HASH = 0x20, 0x23


def escape_value(value: str) -> str:
    """An attribute value escaped as rabbit_cert_info escapes it (RFC 4514, and every
    byte outside 32..125 in hex)."""
    data = value.encode("utf-8", "surrogateescape")
    last = len(data) - 1
    out: list[str] = []
    for index, byte in enumerate(data):
        if index == 0 and byte in (_SPACE, _HASH):
            out.append("\\" + chr(byte))
        elif byte < 32 or byte >= 126:
            out.append(f"\\{byte:02X}")
        elif (index == last and byte == _SPACE) or byte in _BACKSLASHED:
            out.append("\\" + chr(byte))
        else:
            out.append(chr(byte))
    return "".join(out)


def distinguished_name(subject: Subject) -> str:
    """The subject as RabbitMQ writes it (``CN=app,O=Acme,C=GB``)."""
    rdns = (
        "+".join(f"{ATTRIBUTE_NAMES.get(oid, oid)}={escape_value(value)}" for oid, value in rdn)
        for rdn in reversed(subject)
    )
    return ",".join(rdns)


def common_name(subject: Subject) -> str | None:
    """The subject's CN values joined with ``,`` (None without one), unescaped."""
    names = [value for rdn in subject for oid, value in rdn if oid == COMMON_NAME_OID]
    return ",".join(names) if names else None


def alternative_name(
    alternative_names: Sequence[tuple[str, str]], san_type: str, index: int
) -> str | None:
    """The ``index``-th subject alternative name of ``san_type`` (None if there are fewer)."""
    kind = SAN_TYPES[san_type]
    names = [value for name_type, value in alternative_names if name_type == kind]
    return names[index] if index < len(names) else None


def login_name(
    subject: Subject,
    login_from: str,
    alternative_names: Sequence[tuple[str, str]] = (),
    san_type: str = "dns",
    san_index: int = 0,
) -> str | None:
    """The user a certificate logs in as (``ssl_cert_login_from``); None: no such name."""
    if login_from == COMMON_NAME:
        return common_name(subject)
    if login_from in (ALTERNATIVE_NAME, "subject_alt_name"):
        return alternative_name(alternative_names, san_type, san_index)
    return distinguished_name(subject)
