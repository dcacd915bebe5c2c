"""vhosts, users, permissions and topic permissions over HTTP, as RabbitMQ 3.10.8 answers."""

from __future__ import annotations

import pika
import pika.exceptions
import pytest
from mgmt_http import Api, q

from amqpbroker.access.passwords import hash_password
from amqpbroker.embedded.broker import BrokerThread

# RabbitMQ 3.10.8's key set of a vhost that has seen traffic (here: always).
VHOST_KEYS = {
    "cluster_state",
    "default_queue_type",
    "description",
    "message_stats",
    "messages",
    "messages_details",
    "messages_ready",
    "messages_ready_details",
    "messages_unacknowledged",
    "messages_unacknowledged_details",
    "metadata",
    "name",
    "recv_oct",
    "recv_oct_details",
    "send_oct",
    "send_oct_details",
    "tags",
    "tracing",
}


def test_put_vhost_is_201_then_204_and_the_creator_may_use_it(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    assert api.put(f"/api/vhosts/{q(name)}", {}).status == 201
    assert api.put(f"/api/vhosts/{q(name)}", {"description": "d", "tags": "a,b"}).status == 204
    item = api.get(f"/api/vhosts/{q(name)}").body
    assert set(item) == VHOST_KEYS
    assert (item["description"], item["tags"], item["metadata"]) == (
        "d",
        ["a", "b"],
        {"description": "d", "tags": ["a", "b"]},
    )
    assert api.get(f"/api/vhosts/{q(name)}/permissions").body == [
        {"user": "guest", "vhost": name, "configure": ".*", "write": ".*", "read": ".*"}
    ]
    assert name in mgmt_broker.vhosts


def test_vhosts_count_their_messages_from_the_start(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    mgmt_broker.add_vhost(name)
    counts = ("messages", "messages_ready", "messages_unacknowledged")
    item = api.get(f"/api/vhosts/{q(name)}").body
    assert [item[key] for key in counts] == [0, 0, 0]
    with pika.BlockingConnection(pika.URLParameters(mgmt_broker.url_for(name))) as connection:
        channel = connection.channel()
        channel.queue_declare("q")
        channel.basic_publish("", "q", b"1")
        channel.basic_publish("", "q", b"2")
        method, _, _ = channel.basic_get("q")
        assert method is not None
        item = api.get(f"/api/vhosts/{q(name)}").body
        assert [item[key] for key in counts] == [2, 1, 1]
        listed = {v["name"]: v for v in api.get("/api/vhosts").body}[name]
        assert [listed[key] for key in counts] == [2, 1, 1]


def test_an_empty_body_creates_a_vhost_and_a_bad_one_is_not_json(api: Api, name: str) -> None:
    assert api.put(f"/api/vhosts/{q(name)}", raw=b"").status == 201
    reply = api.put(f"/api/vhosts/{q(name)}", raw=b"{bad")
    assert (reply.status, reply.body) == (400, {"error": "bad_request", "reason": "not_json"})
    reply = api.put(f"/api/vhosts/{q(name)}", {"tracing": "maybe"})
    assert (reply.status, reply.body["reason"]) == (400, ["not_boolean", "maybe"])
    assert api.put(f"/api/vhosts/{q(name)}", {"tracing": "false"}).status == 204


def test_the_vhost_created_by_another_admin_is_granted_to_that_admin(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    mgmt_broker.add_user(name, "pw", "administrator")
    assert api.as_user(name, "pw").put(f"/api/vhosts/{q(name)}", {}).status == 201
    users = {item["user"] for item in api.get(f"/api/vhosts/{q(name)}/permissions").body}
    assert users == {name}


def test_the_default_vhost_is_percent_2f(api: Api) -> None:
    assert api.get("/api/vhosts/%2F").body["name"] == "/"


def test_delete_vhost_is_204_then_404(api: Api, name: str) -> None:
    api.put(f"/api/vhosts/{q(name)}", {})
    assert api.delete(f"/api/vhosts/{q(name)}").status == 204
    for reply in (api.delete(f"/api/vhosts/{q(name)}"), api.get(f"/api/vhosts/{q(name)}")):
        assert reply.status == 404
        assert reply.body == {"error": "Object Not Found", "reason": "Not Found"}
    assert api.get(f"/api/vhosts/{q(name)}/permissions").status == 404


def test_a_management_user_lists_only_its_vhosts(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    mgmt_broker.add_user(name, "pw", "management")
    mgmt_broker.add_vhost(name)
    mgmt_broker.set_permissions(name, vhost=name)
    listed = [item["name"] for item in api.as_user(name, "pw").get("/api/vhosts").body]
    assert listed == [name]
    mgmt_broker.add_user(name + "-mon", "pw", "monitoring")
    everything = api.as_user(name + "-mon", "pw").get("/api/vhosts").body
    assert {"/", name} <= {item["name"] for item in everything}


def test_deleting_a_vhost_closes_its_connections_with_320(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    """nameko's per-test vhosts: made over HTTP, used over AMQP, deleted over HTTP."""
    assert api.put(f"/api/vhosts/{q(name)}", {}).status == 201
    user = name + "-app"
    assert api.put(f"/api/users/{q(user)}", {"password": "pw", "tags": ""}).status == 201
    rights = {"configure": ".*", "write": ".*", "read": ".*"}
    assert api.put(f"/api/permissions/{q(name)}/{q(user)}", rights).status == 201
    params = pika.ConnectionParameters(
        mgmt_broker.host,
        mgmt_broker.port,
        name,
        pika.PlainCredentials(user, "pw"),
    )
    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    channel.queue_declare("work")
    channel.basic_publish("", "work", b"job")
    bystander = pika.BlockingConnection(pika.URLParameters(mgmt_broker.url))
    assert api.delete(f"/api/vhosts/{q(name)}").status == 204
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as closed:
        connection.process_data_events(time_limit=5)
        connection.process_data_events(time_limit=5)
    assert closed.value.reply_code == 320
    assert closed.value.reply_text == f"CONNECTION_FORCED - vhost '{name}' is deleted"
    assert name not in mgmt_broker.vhosts
    with bystander:  # (another vhost's connection: untouched)
        assert bystander.channel().queue_declare("", exclusive=True).method.queue
    with pytest.raises(pika.exceptions.ProbableAccessDeniedError) as refused:
        pika.BlockingConnection(params)
    assert f"(530) 'NOT_ALLOWED - vhost {name} not found'" in str(refused.value)


# -- users ----------------------------------------------------------------------------------------


def test_put_user_with_a_password_logs_in_over_http(api: Api, name: str) -> None:
    assert api.put(f"/api/users/{q(name)}", {"password": "pw", "tags": "management"}).status == 201
    assert api.as_user(name, "pw").get("/api/whoami").body == {
        "name": name,
        "tags": ["management"],
    }
    tags = ["management", "monitoring"]
    assert api.put(f"/api/users/{q(name)}", {"password": "pw2", "tags": tags}).status == 204
    item = api.get(f"/api/users/{q(name)}").body
    assert set(item) == {"name", "password_hash", "hashing_algorithm", "tags", "limits"}
    assert (item["tags"], item["hashing_algorithm"], item["limits"]) == (
        tags,
        "rabbit_password_hashing_sha256",
        {},
    )
    assert api.as_user(name, "pw2").get("/api/whoami").status == 200
    assert api.as_user(name, "pw").get("/api/whoami").status == 401


def test_put_user_with_a_hash_or_without_a_password(api: Api, name: str) -> None:
    password_hash = hash_password("secret")
    body = {"password_hash": password_hash, "tags": "administrator"}
    assert api.put(f"/api/users/{q(name)}", body).status == 201
    assert api.get(f"/api/users/{q(name)}").body["password_hash"] == password_hash
    assert api.as_user(name, "secret").get("/api/whoami").status == 200
    assert api.put(f"/api/users/{q(name)}", {"tags": "administrator"}).status == 204
    assert api.get(f"/api/users/{q(name)}").body["password_hash"] == ""
    reply = api.as_user(name, "secret").get("/api/whoami")
    assert (reply.status, reply.body["reason"]) == (401, "Login failed")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "tags_not_present"),
        ({"password": "p"}, "tags_not_present"),
        (
            {"password": "p", "password_hash": "", "tags": ""},
            "both_password_and_password_hash_are_provided",
        ),
        ({"password_hash": "notbase64!!", "tags": ""}, ["not_base64", "notbase64!!"]),
    ],
)
def test_put_user_errors(api: Api, name: str, body: dict[str, str], reason: object) -> None:
    reply = api.put(f"/api/users/{q(name)}", body)
    assert (reply.status, reply.body) == (400, {"error": "bad_request", "reason": reason})
    assert api.get(f"/api/users/{q(name)}").status == 404


def test_a_password_that_is_not_a_string_is_a_500_as_in_rabbitmq(api: Api, name: str) -> None:
    reply = api.put(f"/api/users/{q(name)}", {"password": 5, "tags": ""})
    assert (reply.status, reply.raw) == (500, b"")


def test_delete_user_is_204_then_404(api: Api, name: str) -> None:
    api.put(f"/api/users/{q(name)}", {"password": "p", "tags": ""})
    assert api.delete(f"/api/users/{q(name)}").status == 204
    assert api.delete(f"/api/users/{q(name)}").status == 404
    assert api.get(f"/api/users/{q(name)}/permissions").status == 404


def test_users_list_and_without_permissions(api: Api, name: str) -> None:
    api.put(f"/api/users/{q(name)}", {"password": "p", "tags": ""})
    assert name in [u["name"] for u in api.get("/api/users").body]
    lonely = [u["name"] for u in api.get("/api/users/without-permissions").body]
    assert name in lonely
    assert "guest" not in lonely


# -- permissions ----------------------------------------------------------------------------------


def test_permissions_put_get_delete(api: Api, name: str) -> None:
    api.put(f"/api/users/{q(name)}", {"password": "p", "tags": ""})
    path = f"/api/permissions/%2F/{q(name)}"
    rights = {"configure": "", "write": ".*", "read": "^r"}
    assert api.put(path, rights).status == 201
    assert api.put(path, rights).status == 204
    expected = {"user": name, "vhost": "/", **rights}
    assert api.get(path).body == expected
    assert expected in api.get("/api/permissions").body
    assert api.get(f"/api/users/{q(name)}/permissions").body == [expected]
    assert expected in api.get("/api/vhosts/%2F/permissions").body
    assert api.delete(path).status == 204
    assert api.delete(path).status == 404
    assert api.get(path).status == 404


def test_permission_errors(api: Api, name: str) -> None:
    api.put(f"/api/users/{q(name)}", {"password": "p", "tags": ""})
    path = f"/api/permissions/%2F/{q(name)}"
    reply = api.put(path, {"configure": ".*"})
    assert reply.body == {
        "error": "bad_request",
        "reason": "[{key_missing,write},{key_missing,read}]",
    }
    rights = {"configure": ".*", "write": ".*", "read": ".*"}
    for missing in ("/api/permissions/nosuch/guest", "/api/permissions/%2F/nosuch"):
        reply = api.put(missing, rights)
        assert (reply.status, reply.body["reason"]) == (400, "vhost_or_user_not_found")
    reply = api.put(path, {**rights, "configure": "("})
    assert reply.status == 400
    assert reply.body["reason"][:2] == ["invalid_regexp", "("]


def test_topic_permissions(api: Api, name: str) -> None:
    api.put(f"/api/users/{q(name)}", {"password": "p", "tags": ""})
    path = f"/api/topic-permissions/%2F/{q(name)}"
    assert api.get(path).status == 404
    assert api.put(path, {"exchange": "amq.topic", "write": "^a", "read": ".*"}).status == 201
    assert api.put(path, {"exchange": "x2", "write": "^b", "read": ".*"}).status == 204
    items = api.get(path).body
    assert {item["exchange"] for item in items} == {"amq.topic", "x2"}
    assert set(items[0]) == {"user", "vhost", "exchange", "write", "read"}
    assert len(api.get(f"/api/users/{q(name)}/topic-permissions").body) == 2
    assert all(i["user"] == name for i in api.get("/api/topic-permissions").body)
    reply = api.put(path, {"write": "^b"})
    assert reply.body["reason"] == "[{key_missing,exchange},{key_missing,read}]"
    assert api.delete(path).status == 204
    assert api.delete(path).status == 404


# -- list order and query parameters (rabbitmqadmin's list users/permissions/vhosts) ---------------


def test_users_and_permissions_are_listed_by_name_with_columns_and_sort(
    api: Api, name: str
) -> None:
    """RabbitMQ lists users by name and permissions by vhost then user, whatever the order
    they were made in, and honours ``columns``/``sort_reverse``; ``page`` is ignored there."""
    made = [f"{name}-z", f"{name}-a", f"{name}-m"]
    for user in made:
        api.put(f"/api/users/{q(user)}", {"password": "p", "tags": ""})
        api.put(f"/api/permissions/%2F/{q(user)}", {"configure": "", "write": "", "read": ""})
    names = [u["name"] for u in api.get("/api/users?columns=name").body if u["name"] in made]
    assert names == sorted(made)
    assert api.get("/api/users?columns=name,tags&page=1").body[0].keys() == {"name", "tags"}
    reverse = [u["name"] for u in api.get("/api/users?sort=name&sort_reverse=true").body]
    assert [n for n in reverse if n in made] == sorted(made, reverse=True)
    rows = api.get("/api/permissions?columns=user,vhost").body
    assert [r["user"] for r in rows if r["user"] in made] == sorted(made)
    assert all(r.keys() == {"user", "vhost"} for r in rows)
    assert rows == sorted(rows, key=lambda r: (r["vhost"], r["user"]))
    assert api.get(f"/api/users/{q(made[0])}?columns=tags").body == {"tags": []}
    one = api.get(f"/api/permissions/%2F/{q(made[0])}?columns=user,read").body
    assert one == {"user": made[0], "read": ""}


def test_topic_permissions_are_listed_by_vhost_user_then_exchange(api: Api, name: str) -> None:
    api.put(f"/api/users/{q(name)}", {"password": "p", "tags": ""})
    path = f"/api/topic-permissions/%2F/{q(name)}"
    for exchange in ("x-z", "x-a"):
        api.put(path, {"exchange": exchange, "write": ".*", "read": ".*"})
    listed = api.get(f"/api/users/{q(name)}/topic-permissions?columns=exchange").body
    assert listed == [{"exchange": "x-a"}, {"exchange": "x-z"}]


def test_the_vhost_list_is_sorted_paged_and_cut_to_columns(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    for suffix in ("b", "a"):
        mgmt_broker.add_vhost(f"{name}-{suffix}")
    listed = api.get("/api/vhosts?columns=name").body
    assert listed == sorted(listed, key=lambda v: v["name"])
    assert all(item.keys() == {"name"} for item in listed)
    paged = api.get(f"/api/vhosts?page=1&page_size=1&name={q(name)}&columns=name").body
    assert (paged["items"], paged["filtered_count"]) == ([{"name": f"{name}-a"}], 2)
    one = api.get(f"/api/vhosts/{q(name)}-a?columns=name,tracing").body
    assert one == {"name": f"{name}-a", "tracing": False}
    reduced = api.get(f"/api/vhosts/{q(name)}-a?disable_stats=true").body
    assert "message_stats" not in reduced and reduced["name"] == f"{name}-a"
