"""The rest of RabbitMQ 3.10.8's management routes, over HTTP against an embedded broker:
the answers to methods a path lacks, the node's memory and feature flags, login and its
attempt counts, users deleted in bulk, a user's connections, queue actions, starting a
vhost, the certificate-expiration check, one exchange's topic permission and the limits."""

from __future__ import annotations

import re
from pathlib import Path

import pika
import pika.exceptions
import pytest
from mgmt_http import Api, q

from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.management.routes import route_table
from amqpbroker.testing.polling import wait_until
from amqpbroker.testing.tls_fixtures import TestCertificates

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _node(api: Api) -> str:
    return q(api.get("/api/overview").body["node"])


def _user(api: Api, name: str, tags: str = "", password: str = "pw") -> Api:
    assert api.put(f"/api/users/{q(name)}", {"password": password, "tags": tags}).status == 201
    return api.as_user(name, password)


# -- methods --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/api/overview", "HEAD, GET, OPTIONS"),
        ("/api/users/without-permissions", "HEAD, GET, OPTIONS"),
        ("/api/users/bulk-delete", "POST, OPTIONS"),
        ("/api/users/someone", "HEAD, GET, PUT, DELETE, OPTIONS"),
        ("/api/queues/%2F/q", "HEAD, GET, PUT, DELETE, OPTIONS"),
        ("/api/queues/%2F/q/actions", "POST, OPTIONS"),
        ("/api/vhost-limits", "GET, OPTIONS"),
        ("/api/auth/attempts/n", "HEAD, GET, DELETE, OPTIONS"),
        ("/api/connections/username/u", "HEAD, GET, DELETE, OPTIONS"),
        ("/api/topic-permissions/%2F/u/x", "HEAD, GET, PUT, DELETE, OPTIONS"),
        ("/api/nosuch/path", "HEAD, GET, OPTIONS"),
        ("/api/vhost-limits/%2F/max-connections", "PUT, DELETE, OPTIONS"),
    ],
)
def test_a_method_a_path_lacks_is_405_with_that_paths_allow(
    api: Api, path: str, allow: str
) -> None:
    for method in ("PATCH", "OPTIONS"):
        reply = api.call(method, path, auth=False)
        assert (reply.status, reply.headers["allow"], reply.raw) == (
            200 if method == "OPTIONS" else 405,
            allow,
            b"",
        )


def test_head_only_where_rabbitmq_answers_it(api: Api) -> None:
    assert api.call("HEAD", "/api/vhost-limits").status == 405
    assert api.call("PROPFIND", "/api/overview", auth=False).status == 501
    assert api.call("HEAD", "/api/feature-flags").status == 200
    assert api.call("GET", "/api/nosuch/path", auth=False).status == 404
    # (RabbitMQ's static-file handler refuses a segment no file name may hold)
    malformed = api.call("GET", "/api/exchanges/%2F/amq.direct/bindings", auth=False)
    assert (malformed.status, malformed.raw) == (400, b"")
    assert api.call("POST", "/api/exchanges/%2F/amq.direct/bindings").status == 405


# -- the node -------------------------------------------------------------------------------------


def test_memory_is_the_resident_set_with_queued_bodies_as_binary(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    path = f"/api/nodes/{_node(api)}/memory"
    before = api.get(path).body["memory"]
    assert before["strategy"] == "rss" and before["total"]["rss"] > 0
    categories = {k: v for k, v in before.items() if k not in ("strategy", "total")}
    assert len(categories) == 25 and sum(categories.values()) == before["total"]["rss"]
    api.put(f"/api/queues/%2F/{name}", {})
    with pika.BlockingConnection(pika.URLParameters(mgmt_broker.url)) as connection:
        connection.channel().basic_publish("", name, b"x" * 200_000)
    after = wait_until(
        lambda: (m := api.get(path).body["memory"])["binary"] >= 200_000 and m,
        "the queued body to count",
    )
    assert after["binary"] >= before["binary"] + 200_000
    relative = api.get(path + "/relative").body["memory"]
    assert relative["total"] == 100 and relative["other_proc"] >= 1
    assert set(relative) == set(categories) | {"total"}
    api.delete(f"/api/queues/%2F/{name}")


def test_memory_of_another_node_and_the_ets_tables(api: Api) -> None:
    node = _node(api)
    assert api.get("/api/nodes/nosuch/memory").status == 404
    for tail in ("ets", "ets/relative", "ets/rabbit", "ets/rabbit/relative"):
        assert api.get(f"/api/nodes/{node}/memory/{tail}").body == {
            "ets_tables_memory": "no_tables"
        }


def test_node_routes_ask_for_the_monitoring_tag(api: Api, name: str) -> None:
    manager = _user(api, name, "management")
    node = _node(api)
    for path in ("/api/nodes", f"/api/nodes/{node}", f"/api/nodes/{node}/memory"):
        reply = manager.get(path)
        assert (reply.status, reply.body["reason"]) == (401, "Not monitor user"), path
    api.put(f"/api/users/{q(name)}", {"password": "pw", "tags": "monitoring"})
    assert manager.get(f"/api/nodes/{node}/memory").status == 200
    assert manager.get("/api/feature-flags").body["reason"] == "Not administrator user"


def test_feature_flags_are_3_10_8s_with_what_amqpbroker_has(api: Api) -> None:
    flags = {flag["name"]: flag["state"] for flag in api.get("/api/feature-flags").body}
    assert len(flags) == 9
    assert flags["quorum_queue"] == "enabled"
    assert flags["stream_queue"] == "unavailable"
    assert flags["user_limits"] == "enabled"
    assert api.put("/api/feature-flags/quorum_queue/enable", {}).status == 204
    assert api.put("/api/feature-flags/quorum_queue/enable").status == 415  # (no JSON)
    refused = api.put("/api/feature-flags/stream_queue/enable", {})
    assert (refused.status, refused.body["reason"]) == (400, "unsupported")


def test_health_of_this_node_and_its_mirrors(api: Api) -> None:
    assert api.get(f"/api/healthchecks/node/{_node(api)}").body == {"status": "ok"}
    assert api.get("/api/healthchecks/node/nosuch").status == 404
    reply = api.get("/api/health/checks/node-is-mirror-sync-critical")
    assert reply.body == {"status": "ok", "reason": "single node cluster"}


def test_certificate_expiration(amqps_certificates: TestCertificates) -> None:
    with BrokerThread(management=True, tls=amqps_certificates.tls_config()) as broker:
        api = Api(broker.management_url)
        base = "/api/health/checks/certificate-expiration"
        assert api.get(f"{base}/1/days").body == {"status": "ok"}
        failed = api.get(f"{base}/1000/YEARS")
        assert failed.status == 503
        assert failed.body["reason"] == "Certificates expiring"
        (item,) = failed.body["expired"]
        assert item["protocol"] == "amqp/ssl" and item["port"] == broker.tls_port
        assert item["certfile"] == amqps_certificates.tls_config().certfile
        assert len(item["certfile_expires_on"]) == 1
        assert api.get(f"{base}/x/foo").body["reason"] == "Invalid expiration value."
        unit = api.get(f"{base}/1/fortnights").body["reason"]
        assert unit == "Time unit not recognised. Supported units: days, weeks, months, years."


def test_starting_a_vhost_and_rebalancing_have_nothing_to_do(api: Api) -> None:
    node = _node(api)
    assert api.post(f"/api/vhosts/%2F/start/{node}").status == 204
    assert api.post("/api/rebalance/queues").status == 204
    other = api.post("/api/vhosts/%2F/start/rabbit@elsewhere").body["reason"]
    assert other == "Request to node rabbit@elsewhere failed with nodedown"
    short = api.post(f"/api/vhosts/v/start/{node}").body["reason"]
    assert short.endswith('failed with {no_such_vhost,<<"v">>}')
    long = api.post(f"/api/vhosts/{'v' * 40}/start/{node}").body["reason"]
    prefix = f"Request to node {api.get('/api/overview').body['node']} failed with "
    assert long == prefix + "{no_such_vhost,\n" + " " * (len(prefix) + 1) + f'<<"{"v" * 40}">>}}'


# -- login ----------------------------------------------------------------------------------------


def test_login_sets_the_pages_cookie(api: Api, name: str) -> None:
    _user(api, name, "management")
    ok = api.post("/api/login", raw=f"username={name}&password=pw".encode(), headers=FORM)
    assert (ok.status, ok.body) == (200, "ok")
    assert ok.headers["set-cookie"].startswith("auth=")
    wrong = api.post("/api/login", raw=f"username={name}&password=no".encode(), headers=FORM)
    assert (wrong.status, wrong.body["reason"]) == (401, "Login failed")
    assert api.get("/api/auth", auth=False).body["enable_uaa"] is False


def test_login_attempts_are_counted_per_protocol(mgmt_broker: BrokerThread) -> None:
    with BrokerThread(management=True) as broker:
        api = Api(broker.management_url)
        path = f"/api/auth/attempts/{_node(api)}"
        assert api.delete(path).status == 204
        with pika.BlockingConnection(pika.URLParameters(broker.url)):
            pass
        wrong = broker.url.replace("guest:guest", "guest:wrong")
        with pytest.raises(pika.exceptions.ProbableAuthenticationError):
            pika.BlockingConnection(pika.URLParameters(wrong))
        api.as_user("guest", "wrong").get("/api/whoami")
        counts = {item["protocol"]: item for item in api.get(path).body}
        assert counts["amqp091"]["auth_attempts"] == 2
        assert counts["amqp091"]["auth_attempts_failed"] == 1
        assert counts["http"]["auth_attempts_failed"] == 1
        assert api.get(path + "/source").body == []
        assert api.get("/api/auth/attempts/nosuch").status == 404


# -- users and permissions ------------------------------------------------------------------------


def test_bulk_delete_stops_at_the_first_missing_user(api: Api, name: str) -> None:
    for user in (f"{name}-a", f"{name}-b"):
        _user(api, user)
    body = {"users": [f"{name}-a", "nosuch", f"{name}-b"]}
    refused = api.post("/api/users/bulk-delete", body)
    assert (refused.status, refused.body["reason"]) == (400, ["no_such_user", "nosuch"])
    assert api.get(f"/api/users/{q(name)}-a").status == 404
    assert api.get(f"/api/users/{q(name)}-b").status == 200
    assert api.post("/api/users/bulk-delete", {"users": [f"{name}-b"]}).status == 204
    assert api.post("/api/users/bulk-delete", {}).body["reason"] == "[{key_missing,users}]"


def test_topic_permission_of_one_exchange(api: Api, name: str) -> None:
    _user(api, name)
    path = f"/api/topic-permissions/%2F/{q(name)}"
    for exchange in ("x1", "x2"):
        body = {"exchange": exchange, "write": ".*", "read": ".*"}
        assert api.put(f"{path}/ignored", body).status in (201, 204)
    assert [p["exchange"] for p in api.get(f"{path}/x1").body] == ["x1", "x2"]
    assert api.delete(f"{path}/x1").status == 204
    assert api.delete(f"{path}/x1").status == 204  # (the user still has x2)
    assert [p["exchange"] for p in api.get(path).body] == ["x2"]
    assert api.delete(f"{path}/x2").status == 204
    assert api.delete(f"{path}/x2").status == 404


def test_no_limits_by_default(api: Api, name: str) -> None:
    assert api.get("/api/vhost-limits").body == []
    assert api.get("/api/vhost-limits/%2F").body == []
    assert api.get("/api/vhost-limits/nosuch").status == 404
    assert api.get("/api/user-limits/guest").body == []
    assert api.get("/api/user-limits/nosuch").status == 404
    manager = _user(api, name, "management")
    reply = manager.get("/api/vhost-limits/%2F")
    assert reply.body["reason"] == "User not authorised to access virtual host"


def test_all_configuration_is_the_definitions(api: Api) -> None:
    assert set(api.get("/api/all-configuration").body) == set(api.get("/api/definitions").body)


# -- connections and queues -----------------------------------------------------------------------


def test_a_users_connections_listed_and_closed(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    _user(api, name, "management")
    api.put(f"/api/permissions/%2F/{q(name)}", {"configure": "", "write": "", "read": ""})
    url = mgmt_broker.url.replace("guest:guest", f"{name}:pw")
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        path = f"/api/connections/username/{q(name)}"
        (item,) = wait_until(lambda: api.get(path).body, "the connection to be listed")
        assert list(item) == ["name", "vhost", "user", "node"] and item["user"] == name
        assert api.as_user(name, "pw").get(path).status == 500  # (as 3.10.8's)
        assert api.delete(path, headers={"X-Reason": "bye"}).status == 204
        with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as closed:
            connection.process_data_events(time_limit=5)
        assert closed.value.reply_code == 320
        assert closed.value.reply_text == "CONNECTION_FORCED - bye"
    finally:
        if connection.is_open:
            connection.close()


def test_queue_actions_have_no_mirrors_to_sync(api: Api, name: str) -> None:
    api.put(f"/api/queues/%2F/{name}", {})
    path = f"/api/queues/%2F/{name}/actions"
    assert api.post(path, {"action": "sync"}).status == 204
    assert api.post(path, {"action": "cancel_sync"}).status == 204
    assert api.post(path, {"action": "x"}).body["reason"] == ["unknown", "x"]
    assert api.post(path, {}).body["reason"] == "[{key_missing,action}]"
    assert api.post("/api/queues/%2F/nosuch/actions", {"action": "sync"}).status == 500
    api.delete(f"/api/queues/%2F/{name}")


# -- the table of routes --------------------------------------------------------------------------


def _shape(path: str) -> str:
    """A path with its parameters unnamed (``/api/queues/{}/{}``)."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_the_routes_document_matches_the_route_table() -> None:
    """docs/management-routes.md: every route amqpbroker serves is a 3.10.8 route listed
    there or an extension listed as such, and every row it says amqpbroker implements is
    served, with those methods."""
    document = (Path(__file__).resolve().parents[2] / "docs" / "management-routes.md").read_text()
    rows = re.findall(r"^\| `(/api/[^`]*)` \| ([A-Z, ]+) \| (\w+)", document, re.M)
    served: dict[str, set[str]] = {}
    for route in route_table():
        served.setdefault(_shape(route.path), set()).add(route.method)
    listed = {_shape(path): (set(methods.split(", ")), status) for path, methods, status in rows}
    assert set(served) <= set(listed)
    for path, (methods, status) in listed.items():
        if status in ("yes", "partly", "extension"):
            assert served.get(path) == methods, path
        elif status == "no":
            assert path not in served, path
