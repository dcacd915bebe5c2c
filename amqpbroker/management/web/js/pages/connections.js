// Connections (list and one connection's page, where it may be closed with a reason) and
// the channels list.

import { api, path, ApiError } from "../api.js";
import { h, replaceChildren, fmtNumber, fmtRate, fmtBytes, rate, section, factsList, simpleTable, flash, confirmAction } from "../dom.js";
import { PagedList } from "../list.js";
import { connectionLink } from "./common.js";
import { History, drawChart } from "../chart.js";

const histories = new Map(); // connection name -> History of its byte rates, while the page is open

const clientName = (c) => c.user_provided_name || (c.client_properties && c.client_properties.connection_name) || "";
const tls = (c) => h("span", { class: `tls ${c.ssl ? "yes" : "no"}` }, c.ssl ? "yes" : "no");
const byteRate = (stats, key) => `${fmtBytes(rate(stats, key) ?? 0)}/s`;

export function connectionsPage() {
  const list = new PagedList({
    id: "connections",
    url: () => "/api/connections",
    rowName: (c) => c.name,
    empty: "No connections.",
    columns: [
      { label: "Name", sort: "name", cls: "name", cell: (c) => connectionLink(c.name) },
      { label: "Client name", sort: "user_provided_name", cell: clientName },
      { label: "User", sort: "user", cell: (c) => c.user },
      { label: "Vhost", sort: "vhost", cell: (c) => c.vhost },
      { label: "State", sort: "state", cell: (c) => c.state },
      { label: "TLS", sort: "ssl", cell: tls },
      { label: "Protocol", cell: (c) => c.protocol },
      { label: "Channels", sort: "channels", num: true, cell: (c) => fmtNumber(c.channels) },
      { label: "From client", num: true, cell: (c) => byteRate(c, "recv_oct") },
      { label: "To client", num: true, cell: (c) => byteRate(c, "send_oct") },
    ],
  });
  return { el: h("div", {}, h("h1", {}, "Connections"), h("section", {}, list.el)), refresh: () => list.refresh() };
}

function channelColumns(withConnection) {
  return [
    { label: "Channel", sort: "name", cls: "name", cell: (c) => c.name },
    withConnection ? { label: "Connection", cell: (c) => (c.connection_details ? connectionLink(c.connection_details.name) : "") } : null,
    { label: "User", sort: "user", cell: (c) => c.user },
    { label: "Vhost", sort: "vhost", cell: (c) => c.vhost },
    { label: "Mode", cell: (c) => [c.confirm ? "C" : "", c.transactional ? "T" : ""].join(" ").trim() },
    { label: "State", sort: "state", cell: (c) => c.state },
    { label: "Prefetch", num: true, cell: (c) => fmtNumber(c.prefetch_count) },
    { label: "Unconfirmed", num: true, cell: (c) => fmtNumber(c.messages_unconfirmed) },
    { label: "Unacked", sort: "messages_unacknowledged", num: true, cell: (c) => fmtNumber(c.messages_unacknowledged) },
    { label: "Publish", num: true, cell: (c) => fmtRate(rate(c.message_stats, "publish") ?? 0) },
    { label: "Deliver / get", num: true, cell: (c) => fmtRate(rate(c.message_stats, "deliver_get") ?? 0) },
    { label: "Ack", num: true, cell: (c) => fmtRate(rate(c.message_stats, "ack") ?? 0) },
  ].filter(Boolean);
}

export function channelsPage() {
  const list = new PagedList({
    id: "channels", url: () => "/api/channels", rowName: (c) => c.name, empty: "No channels.", columns: channelColumns(true),
  });
  return { el: h("div", {}, h("h1", {}, "Channels"), h("section", {}, list.el)), refresh: () => list.refresh() };
}

export function connectionPage(ctx, name) {
  const facts = h("div");
  const channels = h("div");
  const chart = h("div", { class: "chart" });
  if (!histories.has(name)) histories.set(name, new History());
  const history = histories.get(name);
  const reason = h("input", { id: "close-reason", value: "Closed via management plugin", size: 40 });
  const close = h("button", { id: "close-connection", type: "button", class: "danger" }, "Force Close");
  const el = h("div", {},
    h("h1", {}, h("span", { class: "kind" }, "Connection"), " ", name),
    h("div", { class: "grid" }, section("Details", facts), section("Data rates", chart)),
    section("Channels", channels),
    section("Close this connection", h("div", { class: "actions" }, h("label", { class: "muted", for: "close-reason" }, "Reason"), reason, close)));
  let gone = false;
  close.addEventListener("click", async () => {
    if (!(await confirmAction(`Close connection ${name}?`))) return;
    try {
      await api.delete(path("connections", name), { "X-Reason": reason.value });
      gone = true;
      location.hash = "#/connections";
      flash("ok", "Connection closed");
    } catch (error) { flash("error", error.message); }
  });

  async function refresh() {
    if (gone) return;
    let c, chans;
    try {
      [c, chans] = await Promise.all([api.get(path("connections", name)), api.get(path("connections", name, "channels"))]);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        gone = true;
        replaceChildren(facts, h("p", { class: "muted" }, "This connection is closed."));
        replaceChildren(channels);
        close.disabled = true;
        return;
      }
      throw error;
    }
    const props = c.client_properties || {};
    replaceChildren(facts, factsList([
      ["Client name", clientName(c)],
      ["User", c.user], ["Virtual host", c.vhost], ["State", c.state], ["Protocol", c.protocol],
      ["TLS", tls(c)], c.ssl ? ["TLS details", `${c.ssl_protocol || ""} ${c.ssl_cipher || ""}`] : null,
      ["Client", `${props.product || ""} ${props.version || ""}`.trim()],
      ["Platform", props.platform || ""],
      ["Connected at", c.connected_at ? new Date(c.connected_at).toLocaleString("en-GB") : ""],
      ["Heartbeat", `${c.timeout ?? 0} s`], ["Frame max", fmtNumber(c.frame_max)], ["Channel max", fmtNumber(c.channel_max)],
      ["From client", byteRate(c, "recv_oct")], ["To client", byteRate(c, "send_oct")],
      ["Capabilities", Object.entries(props.capabilities || {}).filter(([, on]) => on).map(([k]) => k).join(", ")],
    ].filter(Boolean)));
    history.add({ recv: (rate(c, "recv_oct") ?? 0) / 1024, send: (rate(c, "send_oct") ?? 0) / 1024 });
    drawChart(chart, history, [{ key: "recv", label: "From client" }, { key: "send", label: "To client" }], "KiB/s");
    replaceChildren(channels, simpleTable(channelColumns(false), chans, "No channels.", (ch) => ch.name));
  }
  return { el, refresh };
}
