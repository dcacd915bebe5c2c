"""The web page's pure JavaScript (no DOM): the texts of a journey's events, ``name=value``
lines typed as the API wants them, API paths, what tags allow, the chart's history; run in
Node.js when it is installed (the page itself is tested in a browser by tests/browser)."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap

import pytest

from amqpbroker.management.static_files import WEB_ROOT

NODE = shutil.which("node") or shutil.which("nodejs")
pytestmark = pytest.mark.skipif(NODE is None, reason="no Node.js to run the page's modules")
JS = WEB_ROOT / "js"


def run(script: str) -> object:
    """The JSON a module script prints (its imports are the page's files)."""
    assert NODE is not None
    source = textwrap.dedent(script).replace("JS/", JS.as_uri() + "/")
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", source],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_journey_events_read_as_sentences() -> None:
    events = [
        {"type": "routed", "queues": ["q1", "q2"]},
        {"type": "routed", "queues": []},
        {"type": "returned", "reply_code": 312, "reply_text": "NO_ROUTE"},
        {"type": "dropped", "reason": "unroutable"},
        {"type": "dropped", "queue": "q1", "reason": "maxlen"},
        {"type": "rejected_by_queue", "queue": "q1", "reason": "maxlen"},
        {"type": "delivered", "queue": "q1", "consumer_tag": "ctag1", "redelivered": False},
        {"type": "delivered", "queue": "q1", "consumer_tag": "ctag1", "redelivered": True},
        {"type": "got", "queue": "q1", "ack_mode": "auto", "redelivered": False},
        {"type": "acked", "queue": "q1"},
        {"type": "rejected", "queue": "q1", "requeue": True},
        {"type": "requeued", "queue": "q1", "reason": "channel closed"},
        {"type": "expired", "queue": "q1"},
        {"type": "dead_lettered", "queue": "q1", "reason": "expired", "exchange": "dlx"},
        {"type": "dead_lettered", "queue": "q1", "reason": "maxlen", "exchange": ""},
        {"type": "purged", "queue": "q1"},
        {"type": "queue_deleted", "queue": "q1"},
    ]
    texts = run(f"""
        import {{ eventText }} from "JS/pages/trace.js";
        const events = {json.dumps(events)};
        console.log(JSON.stringify([...events.map((e) => eventText(e, false)),
                                    eventText({{type: "acked", queue: "q2"}}, true)]));
    """)
    assert texts == [
        "routed to q1, q2",
        "routed to no queue",
        "returned 312 NO_ROUTE",
        "dropped (unroutable)",
        "dropped from q1 (maxlen)",
        "rejected by q1 (maxlen)",
        "delivered to ctag1 on q1",
        "delivered to ctag1 on q1 (redelivered)",
        "got from q1 (auto ack)",
        "acked",
        "rejected (requeue)",
        "requeued (channel closed)",
        "expired",
        "dead-lettered to dlx (expired)",
        "dead-lettered to (AMQP default) (maxlen)",
        "purged",
        "queue q1 deleted",
        "acked on q2",
    ]


def test_name_value_lines_are_typed() -> None:
    parsed = run("""
        import { parseLines } from "JS/pages/common.js";
        const out = [parseLines("max-length=10\\nlazy=true\\nmode= x=y \\n\\nlist=[1,2]\\nttl=1.5"),
                     parseLines('{"a": "1"}'), parseLines("   ")];
        try { parseLines("no equals sign"); out.push("accepted"); }
        catch (e) { out.push(e.message); }
        console.log(JSON.stringify(out));
    """)
    assert parsed == [
        {"max-length": 10, "lazy": True, "mode": "x=y", "list": [1, 2], "ttl": 1.5},
        {"a": "1"},
        {},
        "Not name=value: no equals sign",
    ]


def test_api_paths_and_what_tags_allow() -> None:
    answers = run("""
        import { path, abilities } from "JS/api.js";
        import { hashPath } from "JS/pages/common.js";
        console.log(JSON.stringify([
            path("queues", "/", "a b/c"), hashPath("queues", "/", "q#1"),
            abilities(["management"]), abilities(["monitoring"]),
            abilities(["policymaker"]), abilities(["administrator"])]));
    """)
    assert answers == [
        "/api/queues/%2F/a%20b%2Fc",
        "#/queues/%2F/q%231",
        {"admin": False, "monitor": False, "policymaker": False},
        {"admin": False, "monitor": True, "policymaker": False},
        {"admin": False, "monitor": False, "policymaker": True},
        {"admin": True, "monitor": True, "policymaker": True},
    ]


def test_the_chart_history_keeps_its_window() -> None:
    kept = run("""
        import { History } from "JS/chart.js";
        const history = new History(10 * 60 * 1000);
        for (let t = 0; t <= 20 * 60 * 1000; t += 5000) history.add({ publish: t }, t);
        const samples = history.samples;
        console.log(JSON.stringify([samples.length, samples[0].t, samples[samples.length - 1].t]));
    """)
    assert kept == [121, 10 * 60 * 1000, 20 * 60 * 1000]


def test_hash_routes_name_their_pages() -> None:
    titles = run("""
        import { routeFor } from "JS/routes.js";
        const ctx = { can: { admin: true, monitor: true, policymaker: true } };
        const hashes = ["", "#/", "#/queues", "#/queues/%2F/a%2Fb%20c", "#/exchanges/v/amq.default",
            "#/connections/127.0.0.1%3A5000%20-%3E%20127.0.0.1%3A5672", "#/channels",
            "#/admin/users", "#/admin/users/guest", "#/admin/vhosts", "#/admin/policies",
            "#/trace", "#/nosuch", "#/queues/%2F", "#/queues/%E0%A4%A"];
        console.log(JSON.stringify(hashes.map((hash) => routeFor(hash, ctx).title)));
    """)
    assert titles == [
        "Overview",
        "Overview",
        "Queues",
        "Queue",
        "Exchange",
        "Connection",
        "Channels",
        "Users",
        "User",
        "Virtual Hosts",
        "Policies",
        "Trace",
        "Not found",
        "Not found",
        "Not found",  # (a malformed percent-encoding)
    ]


def test_numbers_sizes_and_durations_read_well() -> None:
    shown = run("""
        import { fmtNumber, fmtRate, fmtBytes, fmtDuration } from "JS/dom.js";
        console.log(JSON.stringify([fmtNumber(10000), fmtNumber(undefined), fmtRate(2.345),
            fmtRate(0), fmtBytes(512), fmtBytes(275.76), fmtBytes(1536), fmtBytes(5 * 1024 ** 3),
            fmtDuration(5000), fmtDuration(125000), fmtDuration(3 * 3600000 + 60000),
            fmtDuration(2 * 86400000 + 3600000)]));
    """)
    assert shown == [
        "10,000",
        "\u2013",  # (an en dash: no value)
        "2.3/s",
        "0/s",
        "512 B",
        "275.8 B",
        "1.5 KiB",
        "5 GiB",
        "5s",
        "2m 5s",
        "3h 1m",
        "2d 1h",
    ]
