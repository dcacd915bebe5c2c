"""The README's examples work as written: its definitions file loads, and its users log in
with what the README says."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pika
import pytest

from amqpbroker import BrokerThread
from amqpbroker.config import amqp_url

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_definitions() -> dict[str, object]:
    blocks = re.findall(r"```json\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) == 1, "the README has one definitions example"
    document: dict[str, object] = json.loads(blocks[0])
    return document


def test_the_readme_definitions_example_loads_and_its_users_log_in() -> None:
    with BrokerThread() as broker:
        broker.import_definitions(readme_definitions())
        assert "prod" in broker.vhosts
        broker.set_permissions("ops", vhost="prod")  # the example gives ops none
        for user, password in (("app", "s3cret"), ("ops", "ops-secret")):
            url = amqp_url(user, password, broker.host, broker.port, "prod")
            connection = pika.BlockingConnection(pika.URLParameters(url))
            try:
                channel = connection.channel()
                assert channel.queue_declare("jobs", passive=True).method.queue == "jobs"
            finally:
                connection.close()
        wrong = amqp_url("ops", "wrong", broker.host, broker.port, "prod")
        with pytest.raises(pika.exceptions.ProbableAuthenticationError):
            pika.BlockingConnection(pika.URLParameters(wrong))
