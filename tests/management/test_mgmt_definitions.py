"""/api/definitions and /api/definitions/{vhost}: 3.10.8's shapes and errors."""

from __future__ import annotations

from mgmt_http import Api, q

from amqpbroker.embedded.broker import BrokerThread

WHOLE_KEYS = {
    "rabbit_version",
    "rabbitmq_version",
    "product_name",
    "product_version",
    "users",
    "vhosts",
    "permissions",
    "topic_permissions",
    "parameters",
    "global_parameters",
    "policies",
    "queues",
    "exchanges",
    "bindings",
}


def _document(vhost: str) -> dict[str, object]:
    return {
        "vhosts": [{"name": vhost}],
        "queues": [
            {"name": "dq", "vhost": vhost, "durable": True, "auto_delete": False, "arguments": {}}
        ],
        "exchanges": [
            {
                "name": "dx",
                "vhost": vhost,
                "type": "topic",
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            }
        ],
        "bindings": [
            {
                "source": "dx",
                "vhost": vhost,
                "destination": "dq",
                "destination_type": "queue",
                "routing_key": "a.#",
                "arguments": {},
            }
        ],
    }


def test_import_then_export_the_whole_broker(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    assert api.post("/api/definitions", _document(name)).status == 204
    exported = api.get("/api/definitions").body
    assert set(exported) == WHOLE_KEYS
    assert {"name": name} in exported["vhosts"]
    assert {
        "name": "dq",
        "vhost": name,
        "durable": True,
        "auto_delete": False,
        "arguments": {},
    } in (exported["queues"])
    assert mgmt_broker.queue("dq", vhost=name).durable


def test_the_per_vhost_export_drops_the_vhost_keys(api: Api, name: str) -> None:
    api.post("/api/definitions", _document(name))
    exported = api.get(f"/api/definitions/{q(name)}").body
    assert list(exported) == [
        "rabbit_version",
        "parameters",
        "policies",
        "queues",
        "exchanges",
        "bindings",
    ]
    assert exported["queues"] == [
        {"name": "dq", "durable": True, "auto_delete": False, "arguments": {}}
    ]
    assert all("vhost" not in item for item in exported["exchanges"] + exported["bindings"])


def test_a_per_vhost_import_goes_into_the_vhost_of_the_url(
    api: Api, mgmt_broker: BrokerThread, name: str
) -> None:
    api.put(f"/api/vhosts/{q(name)}", {})
    document = _document("elsewhere")
    assert api.post(f"/api/definitions/{q(name)}", document).status == 204
    assert mgmt_broker.queue("dq", vhost=name).durable
    assert "elsewhere" not in mgmt_broker.vhosts


def test_definitions_errors(api: Api) -> None:
    reply = api.post("/api/definitions", raw=b"{nope")
    assert (reply.status, reply.body) == (
        400,
        {"error": "bad_request", "reason": "failed_to_parse_json"},
    )
    reply = api.get("/api/definitions/nosuch")
    assert (reply.status, reply.body) == (
        400,
        {"error": "bad_request", "reason": "vhost_not_found"},
    )
    reply = api.post("/api/definitions/nosuch", {})
    assert (reply.status, reply.body) == (404, {"error": "not_found", "reason": "vhost_not_found"})
    reply = api.post("/api/definitions", {"queues": "not a list"})
    assert reply.status == 400
    assert reply.body["error"] == "bad_request"
