"""The pytest plugin, run the way its users run it: inner test sessions through ``pytester``.

Each inner session loads the plugin as a user's would: through the ``pytest11`` entry point
when the package is installed with it, else with ``-p`` (a fresh checkout's venv).  The
sessions run in this process, so they use this tree's ``amqpbroker``.
"""

from __future__ import annotations

import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import trustme  # noqa: F401 (loaded once here: cryptography cannot be imported afresh by each inner session)

pytest_plugins = ["pytester"]

PLUGIN = "amqpbroker.testing.pytest_plugin"
# No cache files; and no hypothesis plugin, which would import hypothesis afresh (and
# rewrite its asserts) in every inner session: a second per run.
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
INI = """
[pytest]
filterwarnings = error
asyncio_default_fixture_loop_scope = function
"""


def installed_plugin() -> bool:
    return any(ep.value == PLUGIN for ep in entry_points(group="pytest11"))


def run(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    """Run ``source`` as a test module in an inner session with the plugin loaded."""
    pytester.makeini(INI)
    pytester.makepyfile(source)
    load = [] if installed_plugin() else ["-p", PLUGIN]
    return pytester.runpytest_inprocess(*load, *QUIET)


def test_the_entry_point_names_the_plugin_module() -> None:
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text())["project"]["entry-points"]["pytest11"]
    assert declared == {"amqpbroker": PLUGIN}


def test_a_sync_test_talks_to_its_vhost_with_pika(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pika

        def test_publish_and_get(amqp_url, amqp_vhost):
            assert amqp_url.endswith("/" + amqp_vhost)
            with pika.BlockingConnection(pika.URLParameters(amqp_url)) as connection:
                channel = connection.channel()
                channel.queue_declare("orders")
                channel.basic_publish("", "orders", b"one order")
                _, _, body = channel.basic_get("orders", auto_ack=True)
            assert body == b"one order"
        """,
    )
    result.assert_outcomes(passed=1)


def test_an_asyncio_test_talks_to_its_vhost_with_aio_pika(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import aio_pika
        import pytest

        @pytest.mark.asyncio
        async def test_publish_and_get(amqp_url):
            async with await aio_pika.connect(amqp_url) as connection:
                channel = await connection.channel()
                queue = await channel.declare_queue("orders")
                await channel.default_exchange.publish(
                    aio_pika.Message(b"one order"), routing_key="orders"
                )
                message = await queue.get(timeout=5)
                await message.ack()
            assert message.body == b"one order"
        """,
    )
    result.assert_outcomes(passed=1)


def test_tests_do_not_see_each_others_queues(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pika
        import pytest

        @pytest.mark.parametrize("run", [1, 2])
        def test_leaves_a_message_behind(amqp_url, run):
            with pika.BlockingConnection(pika.URLParameters(amqp_url)) as connection:
                channel = connection.channel()
                channel.queue_declare("orders")
                channel.basic_publish("", "orders", b"left behind")
                depth = channel.queue_declare("orders", passive=True).method.message_count
            assert depth == 1
        """,
    )
    result.assert_outcomes(passed=2)


def test_the_vhost_is_deleted_after_the_test(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pika
        import pytest

        left_open = {}

        def test_leaves_a_connection_open(amqp_url, amqp_vhost, amqp_broker):
            assert amqp_vhost in amqp_broker.vhosts
            left_open["vhost"] = amqp_vhost
            left_open["connection"] = pika.BlockingConnection(pika.URLParameters(amqp_url))

        def test_then_finds_it_gone(amqp_broker):
            assert left_open["vhost"] not in amqp_broker.vhosts
            with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as closed:
                left_open["connection"].process_data_events(5)
            assert closed.value.reply_code == 320
            assert closed.value.reply_text == (
                f"CONNECTION_FORCED - vhost '{left_open['vhost']}' is deleted"
            )
        """,
    )
    result.assert_outcomes(passed=2)


def test_the_factory_starts_brokers_with_options_and_stops_them(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        """
        import socket
        import pika
        import pytest

        started = {}

        def test_start_with_options(amqp_broker_factory):
            broker = amqp_broker_factory(heartbeat=5, default_vhost="plugin-default")
            other = amqp_broker_factory()
            assert broker.port != other.port
            assert broker.vhosts == ["plugin-default"]
            proposed = []

            def accept(connection, offered):
                proposed.append(offered)
                return offered

            parameters = pika.URLParameters(broker.url)
            parameters.heartbeat = accept
            with pika.BlockingConnection(parameters) as connection:
                connection.channel().queue_declare("orders")
            assert proposed == [5]
            started["ports"] = [broker.port, other.port]

        def test_they_are_stopped_after_the_test():
            for port in started["ports"]:
                with pytest.raises(ConnectionRefusedError):
                    socket.create_connection(("127.0.0.1", port), timeout=5).close()
        """,
    )
    result.assert_outcomes(passed=2)


def test_a_failing_test_reports_normally(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pika

        def test_expects_a_message_nobody_sent(amqp_url):
            with pika.BlockingConnection(pika.URLParameters(amqp_url)) as connection:
                channel = connection.channel()
                channel.queue_declare("orders")
                method, _, _ = channel.basic_get("orders")
            assert method is not None, "no order arrived"

        def test_passes(amqp_url):
            pass
        """,
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: no order arrived*"])


def test_no_broker_starts_unless_a_test_asks(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import threading

        def test_without_fixtures():
            assert "amqpbroker" not in [t.name for t in threading.enumerate()]
        """,
    )
    result.assert_outcomes(passed=1)


def test_amqp_management_url_serves_rabbitmqs_api(pytester: pytest.Pytester) -> None:
    """nameko's way: the API URL with credentials, a vhost made over HTTP, used over AMQP."""
    result = run(
        pytester,
        """
        import base64, json, re, urllib.parse, urllib.request
        import pika

        def call(base, method, path, body=None):
            parts = urllib.parse.urlsplit(base)
            token = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
            url = f"{parts.scheme}://{parts.hostname}:{parts.port}{path}"
            data = None if body is None else json.dumps(body).encode()
            request = urllib.request.Request(url, data=data, method=method)
            request.add_header("Authorization", f"Basic {token}")
            request.add_header("Content-Type", "application/json")
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()

        def test_per_test_vhost(amqp_management_url, amqp_management_broker):
            assert re.fullmatch(r"http://guest:guest@127\\.0\\.0\\.1:\\d+", amqp_management_url)
            assert call(amqp_management_url, "PUT", "/api/vhosts/orders", {})[0] == 201
            url = amqp_management_broker.url_for("orders")
            with pika.BlockingConnection(pika.URLParameters(url)) as connection:
                connection.channel().queue_declare("q")
            assert call(amqp_management_url, "DELETE", "/api/vhosts/orders")[0] == 204
        """,
    )
    result.assert_outcomes(passed=1)


# -- TLS ------------------------------------------------------------------------------------


def test_a_test_talks_amqps_with_pika_and_aio_pika(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import aio_pika
        import pika
        import pytest

        def test_pika(amqps_url, amqps_vhost, amqps_ssl_context):
            assert amqps_url.startswith("amqps://") and amqps_url.endswith("/" + amqps_vhost)
            params = pika.URLParameters(amqps_url)
            params.ssl_options = pika.SSLOptions(amqps_ssl_context)
            with pika.BlockingConnection(params) as connection:
                channel = connection.channel()
                channel.queue_declare("orders")
                channel.basic_publish("", "orders", b"one order")
                _, _, body = channel.basic_get("orders", auto_ack=True)
            assert body == b"one order"

        @pytest.mark.asyncio
        async def test_aio_pika(amqps_url, amqps_ssl_context):
            connection = await aio_pika.connect(amqps_url, ssl_context=amqps_ssl_context)
            async with connection:
                channel = await connection.channel()
                queue = await channel.declare_queue("orders")
                await channel.default_exchange.publish(
                    aio_pika.Message(b"one order"), routing_key="orders"
                )
                message = await queue.get(timeout=5)
                await message.ack()
            assert message.body == b"one order"
        """,
    )
    result.assert_outcomes(passed=2)


def test_a_test_logs_in_with_a_client_certificate(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pika

        def test_external(amqps_broker, amqps_vhost, amqps_url, amqps_certificates):
            amqps_broker.add_user("billing", None)
            amqps_broker.set_permissions("billing", ".*", ".*", ".*", vhost=amqps_vhost)
            params = pika.URLParameters(amqps_url)
            params.ssl_options = pika.SSLOptions(amqps_certificates.client_context("billing"))
            params.credentials = pika.credentials.ExternalCredentials()
            with pika.BlockingConnection(params) as connection:
                connection.channel().queue_declare("invoices")
                assert [c.user for c in amqps_broker.connections] == ["billing"]
            assert amqps_certificates.ca_file.read_text().startswith("-----BEGIN CERTIFICATE")
        """,
    )
    result.assert_outcomes(passed=1)
