"""The EXTERNAL user name a client certificate gives, and the mechanisms each listener offers.

The expected names were recorded from RabbitMQ 3.10.8 (rabbitmq_auth_mechanism_ssl, a private
node with ``ssl_cert_login_from = distinguished_name``): its log line
``EXTERNAL login refused: user '...'`` for certificates with these subjects.  Subjects are
given as the TLS layer hands them over: RDNs in certificate order, (dotted OID, value).
"""

from __future__ import annotations

import pytest

from amqpbroker.access.certificates import (
    common_name,
    distinguished_name,
    escape_value,
    login_name,
)
from amqpbroker.access.sasl import offered_mechanisms

C, ST, L, STREET = "2.5.4.6", "2.5.4.8", "2.5.4.7", "2.5.4.9"
ORG, OU, CN = "2.5.4.10", "2.5.4.11", "2.5.4.3"
EMAIL, DC = "1.2.840.113549.1.9.1", "0.9.2342.19200300.100.1.25"
UID = "0.9.2342.19200300.100.1.1"
BUSINESS, SERIAL, TITLE = "2.5.4.15", "2.5.4.5", "2.5.4.12"
GIVEN, SURNAME, PSEUDONYM = "2.5.4.42", "2.5.4.4", "2.5.4.65"


def rdns(*pairs: tuple[str, str]) -> tuple[tuple[tuple[str, str], ...], ...]:
    return tuple((pair,) for pair in pairs)


def test_a_plain_subject_is_written_last_rdn_first():
    subject = rdns((C, "GB"), (ORG, "Acme"), (CN, "app"))
    assert distinguished_name(subject) == "CN=app,O=Acme,C=GB"


def test_every_named_type_and_every_escape_as_rabbitmq_3_10_8():
    subject = rdns(
        (C, "GB"),
        (ST, "Some-State"),
        (L, "Zoë~town"),
        (STREET, "1 Main St"),
        (ORG, 'Acme, Inc; <x> "q" a\\b'),
        (OU, "#lead "),
        (EMAIL, "a@b.example"),
        (DC, "example"),
        (UID, "u1"),
        (BUSINESS, "biz"),
        (SERIAL, "42"),
        (TITLE, "Dr"),
        (GIVEN, "Ann"),
        (SURNAME, "Lee"),
        (PSEUDONYM, "al"),
        (CN, " app+1"),
    )
    recorded = (
        r"CN=\ app\+1,PSEUDONYM=al,SN=Lee,GIVENNAME=Ann,TITLE=Dr,SERIALNUMBER=42,2.5.4.15=biz,"
        r"UID=u1,DC=example,EMAILADDRESS=a@b.example,OU=\#lead\ ,"
        r"O=Acme\, Inc\; \<x\> \"q\" a\\b,2.5.4.9=1 Main St,L=Zo\C3\AB\7Etown,ST=Some-State,C=GB"
    )
    assert distinguished_name(subject) == recorded


def test_a_multi_valued_rdn_joins_with_plus():
    subject = (((ORG, "Acme"),), ((CN, "app"), (UID, "u7")), ((CN, "second"),))
    assert distinguished_name(subject) == "CN=second,CN=app+UID=u7,O=Acme"
    assert common_name(subject) == "app,second"  # every CN, in certificate order, unescaped


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        (" ", "\\ "),
        ("#", "\\#"),
        ("a#", "a#"),
        ("a ", "a\\ "),
        ("a b", "a b"),
        ("\x00", "\\00"),
        ("~", "\\7E"),
        ("\x7f", "\\7F"),
        ("=", "="),
        ("", ""),
    ],
)
def test_escape_value(value: str, escaped: str):
    assert escape_value(value) == escaped


def test_login_name_follows_ssl_cert_login_from():
    subject = rdns((ORG, "Acme"), (CN, "a,b"))
    assert login_name(subject, "distinguished_name") == "CN=a\\,b,O=Acme"
    assert login_name(subject, "common_name") == "a,b"
    assert login_name(rdns((ORG, "Acme")), "common_name") is None


@pytest.mark.parametrize(
    ("configured", "tls", "offered"),
    [
        (("PLAIN", "AMQPLAIN"), False, ("PLAIN", "AMQPLAIN")),
        (("PLAIN", "AMQPLAIN"), True, ("PLAIN", "AMQPLAIN")),
        (("EXTERNAL", "PLAIN"), True, ("PLAIN", "EXTERNAL")),  # recorded on 3.10.8
        (("EXTERNAL", "PLAIN"), False, ("PLAIN",)),  # recorded on 3.10.8
        (("EXTERNAL",), False, ()),
        (("AMQPLAIN", "EXTERNAL", "PLAIN"), True, ("PLAIN", "AMQPLAIN", "EXTERNAL")),
    ],
)
def test_offered_mechanisms(configured: tuple[str, ...], tls: bool, offered: tuple[str, ...]):
    assert offered_mechanisms(configured, tls=tls) == offered


def test_subject_alternative_name_by_type_and_index():
    names = (("DNS", "a.example"), ("email", "ops@example.com"), ("DNS", "b.example"))
    subject = rdns((CN, "app"))
    assert login_name(subject, "subject_alternative_name", names) == "a.example"
    assert login_name(subject, "subject_alt_name", names, "dns", 1) == "b.example"
    assert login_name(subject, "subject_alternative_name", names, "email") == "ops@example.com"
    assert login_name(subject, "subject_alternative_name", names, "dns", 2) is None
    assert login_name(subject, "subject_alternative_name", names, "uri") is None
