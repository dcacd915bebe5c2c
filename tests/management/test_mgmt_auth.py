"""Who may call what: RabbitMQ 3.10.8's 401 answers, in its order, and 404/405 before any
credentials are looked at."""

from __future__ import annotations

import pytest
from mgmt_http import Api, q

from amqpbroker.access.control import AccessControl
from amqpbroker.config import BrokerConfig
from amqpbroker.embedded.broker import BrokerThread
from amqpbroker.management.auth import authenticate, credentials
from amqpbroker.management.http import ApiError

REALM = 'Basic realm="RabbitMQ Management"'


def test_no_credentials_get_an_empty_401_asking_for_them(api: Api) -> None:
    reply = api.get("/api/overview", auth=False)
    assert (reply.status, reply.raw) == (401, b"")
    assert reply.headers["www-authenticate"] == REALM


def test_a_wrong_password_is_login_failed_spelt_with_a_z(api: Api) -> None:
    reply = api.as_user("guest", "nope").get("/api/overview")
    assert reply.status == 401
    assert reply.body == {"error": "not_authorized", "reason": "Login failed"}
    assert reply.headers["www-authenticate"] == REALM
    assert reply.headers["content-type"] == "application/json"


def test_an_unknown_user_is_login_failed(api: Api) -> None:
    reply = api.as_user("nobody-at-all", "x").get("/api/whoami")
    assert (reply.status, reply.body["reason"]) == (401, "Login failed")


def test_a_user_without_a_management_tag_is_refused_without_the_header(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    mgmt_broker.add_user(name, "pw")
    reply = api.as_user(name, "pw").get("/api/whoami")
    assert reply.status == 401
    assert reply.body == {"error": "not_authorised", "reason": "Not management user"}
    assert "www-authenticate" not in reply.headers


@pytest.mark.parametrize("tag", ["management", "monitoring", "policymaker"])
def test_non_administrators_get_not_administrator_user_on_admin_routes(
    api: Api, mgmt_broker: BrokerThread, name: str, tag: str
) -> None:
    mgmt_broker.add_user(name, "pw", tag)
    user = api.as_user(name, "pw")
    assert user.get("/api/whoami").body == {"name": name, "tags": [tag]}
    for method, path in [
        ("GET", "/api/users"),
        ("GET", "/api/permissions"),
        ("GET", "/api/definitions"),
        ("GET", "/api/vhosts/%2F"),
        ("PUT", "/api/vhosts/x"),
        ("PUT", "/api/cluster-name"),
    ]:
        reply = user.call(method, path, {} if method == "PUT" else None)
        assert reply.status == 401, path
        assert reply.body == {"error": "not_authorised", "reason": "Not administrator user"}


def test_a_vhost_route_needs_permissions_there(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    mgmt_broker.add_user(name, "pw", "management")
    mgmt_broker.add_vhost(name)
    user = api.as_user(name, "pw")
    reply = user.get(f"/api/aliveness-test/{q(name)}")
    assert reply.status == 401
    assert reply.body == {
        "error": "not_authorised",
        "reason": "User not authorised to access virtual host",
    }
    mgmt_broker.set_permissions(name, vhost=name)
    assert user.get(f"/api/aliveness-test/{q(name)}").body == {"status": "ok"}


def test_an_administrator_without_permissions_is_refused_by_the_operation(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    mgmt_broker.add_user(name, "pw", "administrator")
    reply = api.as_user(name, "pw").get("/api/aliveness-test/%2F")
    assert (reply.status, reply.body["reason"]) == (401, "Access refused.")


def test_unknown_paths_are_404_before_credentials(api: Api) -> None:
    for options in ({"auth": False}, {}):
        reply = api.get("/api/nosuch", **options)
        assert reply.status == 404
        assert reply.body == {"error": "Object Not Found", "reason": "Not Found"}


def test_an_unsupported_method_is_an_empty_405_before_credentials(api: Api) -> None:
    reply = api.call("PATCH", "/api/overview", auth=False)
    assert (reply.status, reply.raw) == (405, b"")
    assert reply.headers["allow"] == "HEAD, GET, OPTIONS"
    assert api.post("/api/vhosts").status == 405


def test_a_trailing_slash_is_the_same_route(api: Api) -> None:
    assert api.get("/api/whoami/").body == {"name": "guest", "tags": ["administrator"]}


def test_head_answers_as_get_without_a_body(api: Api) -> None:
    reply = api.call("HEAD", "/api/whoami")
    assert (reply.status, reply.raw) == (200, b"")
    assert reply.headers["content-type"] == "application/json"


# -- the rules without sockets --------------------------------------------------------------------


def _access() -> AccessControl:
    access = AccessControl()
    access.add_user("guest", "guest", "administrator")
    return access


def _basic(user: str, password: str) -> str:
    import base64  # noqa: PLC0415

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_guest_may_log_in_from_loopback_only() -> None:
    access, config = _access(), BrokerConfig()
    assert authenticate(access, config, _basic("guest", "guest"), "127.0.0.1").name == "guest"
    assert authenticate(access, config, _basic("guest", "guest"), "::1").name == "guest"
    with pytest.raises(ApiError) as refused:
        authenticate(access, config, _basic("guest", "guest"), "192.0.2.7")
    assert refused.value.status == 401
    assert refused.value.body == {
        "error": "not_authorised",
        "reason": "User can only log in via localhost",
    }


def test_a_wrong_password_from_afar_is_still_login_failed() -> None:
    with pytest.raises(ApiError) as refused:
        authenticate(_access(), BrokerConfig(), _basic("guest", "x"), "192.0.2.7")
    assert refused.value.body["reason"] == "Login failed"


@pytest.mark.parametrize("header", [None, "", "Bearer abc", "Basic !!!", "Basic " + "bm9jb2xvbg=="])
def test_malformed_authorization_headers_are_no_credentials(header: str | None) -> None:
    assert credentials(header) is None
    with pytest.raises(ApiError) as refused:
        authenticate(_access(), BrokerConfig(), header, "127.0.0.1")
    assert (refused.value.status, refused.value.body) == (401, None)
