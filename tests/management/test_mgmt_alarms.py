"""The resource alarms as the management API shows them: ``/api/nodes``' memory and disk
figures, and the alarm health checks' 503 naming each resource (RabbitMQ 3.10.8's bodies)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mgmt_http import Api

from amqpbroker.embedded.broker import BrokerThread

QUICK_CHECKS = {"memory_monitor_interval": 0.01, "disk_monitor_interval": 0.01}
ALARM_FIELDS = (
    "mem_used",
    "mem_limit",
    "mem_alarm",
    "disk_free",
    "disk_free_limit",
    "disk_free_alarm",
)


@pytest.fixture
def alarmed(tmp_path: object) -> Iterator[BrokerThread]:
    """A broker with both alarms on from boot (marks it cannot meet)."""
    with BrokerThread(
        management=True,
        data_dir=str(tmp_path),
        vm_memory_high_watermark_absolute=1,
        disk_free_limit=2**62,
        **QUICK_CHECKS,
    ) as broker:
        yield broker


def _node(api: Api) -> dict[str, object]:
    nodes = api.get("/api/nodes").body
    assert len(nodes) == 1
    return dict(nodes[0])


def test_nodes_report_the_measured_figures(api: Api, mgmt_broker: BrokerThread) -> None:
    node = _node(api)
    alarms = mgmt_broker.server.alarms
    assert node["mem_alarm"] is False and node["disk_free_alarm"] is False
    assert node["mem_limit"] == alarms.mem_limit > 0
    assert node["disk_free_limit"] == 50_000_000
    assert isinstance(node["mem_used"], int) and node["mem_used"] > 0
    assert isinstance(node["disk_free"], int) and node["disk_free"] > 0
    assert api.get(
        "/api/nodes",
    ).body[0].keys() >= set(ALARM_FIELDS)


def test_alarms_in_nodes_and_health_checks(alarmed: BrokerThread) -> None:
    api = Api(alarmed.management_url)
    node = _node(api)
    assert node["mem_alarm"] is True and node["disk_free_alarm"] is True
    assert node["mem_limit"] == 1
    assert node["disk_free_limit"] == 2**62
    name = node["name"]
    reply = api.get("/api/health/checks/alarms")
    assert reply.status == 503
    assert reply.body == {
        "status": "failed",
        "reason": "There are alarms in effect in the cluster",
        "alarms": [{"node": name, "resource": "memory"}, {"node": name, "resource": "disk"}],
    }
    reply = api.get("/api/health/checks/local-alarms")
    assert reply.status == 503
    assert reply.body["reason"] == "There are alarms in effect on the node"
    assert [a["resource"] for a in reply.body["alarms"]] == ["memory", "disk"]
    alarmed.set_vm_memory_high_watermark(2**62)
    reply = api.get("/api/health/checks/alarms")
    assert reply.body["alarms"] == [{"node": name, "resource": "disk"}]
    alarmed.set_disk_free_limit(1)
    for path in ("/api/health/checks/alarms", "/api/health/checks/local-alarms"):
        reply = api.get(path)
        assert (reply.status, reply.body) == (200, {"status": "ok"})
    node = _node(api)
    assert node["mem_alarm"] is False and node["disk_free_alarm"] is False
