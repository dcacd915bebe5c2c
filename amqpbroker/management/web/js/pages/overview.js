// Overview: totals, queued messages, the message-rates chart (kept here, from the polled
// /api/overview, for ten minutes), listeners, alarms, version and uptime.

import { api } from "../api.js";
import { h, replaceChildren, fmtNumber, fmtDuration, rate, section, factsList, simpleTable } from "../dom.js";
import { History, drawChart } from "../chart.js";

const RATES = [
  { key: "publish", label: "Publish" },
  { key: "deliver", label: "Deliver" },
  { key: "ack", label: "Ack" },
  { key: "redeliver", label: "Redeliver" },
];
const QUEUED = [
  { key: "messages_ready", label: "Ready" },
  { key: "messages_unacknowledged", label: "Unacked" },
  { key: "messages", label: "Total", dashed: true },
];
const rates = new History(); // kept while the page is open, across visits to other pages
const queued = new History();

function stat(label, value, cls) {
  return h("div", { class: "stat" }, h("dt", {}, label), h("dd", { class: cls }, value));
}

export function overviewPage(ctx) {
  const totals = h("dl", { id: "totals", class: "stats" });
  const queuedBox = h("dl", { id: "queued", class: "stats" });
  const rateChart = h("div", { class: "chart", id: "rates-chart" });
  const queuedChart = h("div", { class: "chart", id: "queued-chart" });
  const node = h("div");
  const listeners = h("div");
  const el = h("div", {},
    h("h1", {}, "Overview"),
    h("div", { class: "grid" },
      section("Totals", totals),
      section("Queued messages", queuedBox)),
    h("div", { class: "grid" },
      section("Message rates", rateChart),
      section("Queued messages over time", queuedChart)),
    h("div", { class: "grid" },
      section("Node", node),
      section("Listeners", listeners)));

  async function refresh() {
    const [overview, nodes] = await Promise.all([
      api.get("/api/overview"),
      ctx.can.monitor ? api.get("/api/nodes", { columns: "name,uptime,mem_alarm,disk_free_alarm" }) : null,
    ]);
    const objects = overview.object_totals || {};
    replaceChildren(totals, [["Connections", "connections"], ["Channels", "channels"], ["Exchanges", "exchanges"],
      ["Queues", "queues"], ["Consumers", "consumers"]].map(([label, key]) => stat(label, fmtNumber(objects[key] ?? 0), key)));
    const q = overview.queue_totals || {};
    replaceChildren(queuedBox, stat("Ready", fmtNumber(q.messages_ready ?? 0), "ready"),
      stat("Unacked", fmtNumber(q.messages_unacknowledged ?? 0), "unacked"), stat("Total", fmtNumber(q.messages ?? 0), "total"));
    const stats = overview.message_stats || {};
    rates.add(Object.fromEntries(RATES.map(({ key }) => [key, rate(stats, key) ?? 0])));
    queued.add(Object.fromEntries(QUEUED.map(({ key }) => [key, q[key] ?? 0])));
    drawChart(rateChart, rates, RATES, "/s");
    drawChart(queuedChart, queued, QUEUED, "msgs");
    renderNode(overview, nodes && nodes[0]);
    replaceChildren(listeners, simpleTable([
      { label: "Protocol", cell: (l) => l.protocol },
      { label: "Bound to", cell: (l) => l.ip_address },
      { label: "Port", cell: (l) => String(l.port), num: true },
    ], overview.listeners || [], "No listeners."));
  }

  function renderNode(overview, info) {
    const alarms = info
      ? [info.mem_alarm ? "memory" : null, info.disk_free_alarm ? "disk" : null].filter(Boolean)
      : null;
    replaceChildren(node, factsList([
      ["Node", overview.node],
      ["Cluster", String(overview.cluster_name)],
      ["Version", `${overview.product_name} ${overview.product_version} (RabbitMQ ${overview.rabbitmq_version} API)`],
      ["Uptime", info ? h("span", { id: "uptime" }, fmtDuration(info.uptime)) : h("span", { class: "muted" }, "(monitoring tag)")],
      ["Alarms", alarms === null ? h("span", { class: "muted" }, "(monitoring tag)")
        : h("span", { id: "alarms", class: alarms.length ? "state-other" : "state-running" }, alarms.length ? alarms.join(", ") : "none")],
    ]));
  }

  return { el, refresh };
}
