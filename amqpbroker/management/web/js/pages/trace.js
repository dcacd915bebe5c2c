// Trace: a vhost's tracing switch (PUT /api/vhosts/{vhost} {"tracing": ...}, RabbitMQ's way)
// and the last messages' journeys (GET /api/journeys/{vhost}?since=N, an extension).

import { api, path } from "../api.js";
import { h, replaceChildren, fmtTime, fmtNumber, section, flash, confirmAction } from "../dom.js";
import { exchangeName } from "./common.js";
import { refreshNow } from "../shell.js";

const KEEP = 200;

/** Whether the journeys route exists, asked without a 404: OPTIONS answers 200 with the
 * path's Allow header, which names DELETE only where the route is. */
let journeysRoute = null;
async function hasJourneysRoute() {
  if (journeysRoute === null) {
    try {
      const response = await fetch("/api/journeys/%2F", { method: "OPTIONS", cache: "no-store" });
      journeysRoute = (response.headers.get("Allow") || "").includes("DELETE");
    } catch {
      return false;
    }
  }
  return journeysRoute;
}

/** An event as a person reads it. `many`: the journey went to more than one queue. */
export function eventText(e, many) {
  const on = many && e.queue ? ` on ${e.queue}` : "";
  switch (e.type) {
    case "routed": return e.queues && e.queues.length ? `routed to ${e.queues.join(", ")}` : "routed to no queue";
    case "returned": return `returned ${e.reply_code} ${e.reply_text}`;
    case "dropped": return e.queue ? `dropped from ${e.queue} (${e.reason})` : `dropped (${e.reason})`;
    case "rejected_by_queue": return `rejected by ${e.queue} (${e.reason})`;
    case "delivered": return `delivered to ${e.consumer_tag} on ${e.queue}${e.redelivered ? " (redelivered)" : ""}`;
    case "got": return `got from ${e.queue} (${e.ack_mode} ack)${e.redelivered ? " (redelivered)" : ""}`;
    case "acked": return `acked${on}`;
    case "rejected": return `rejected${on}${e.requeue ? " (requeue)" : ""}`;
    case "requeued": return `requeued${on} (${e.reason})`;
    case "expired": return `expired${on}`;
    case "dead_lettered": return `dead-lettered to ${exchangeName(e.exchange)} (${e.reason})`;
    case "purged": return `purged${on}`;
    case "queue_deleted": return `queue ${e.queue} deleted`;
    default: return e.type;
  }
}

function propertiesLine(properties) {
  const entries = Object.entries(properties || {});
  if (!entries.length) return null;
  return h("p", { class: "journey-properties muted" }, entries.map(([k, v], i) =>
    [i ? " · " : "", `${k}: `, h("code", {}, typeof v === "object" ? JSON.stringify(v) : String(v))]));
}

function journeyView(j) {
  const routedTo = new Set();
  for (const e of j.events) if (e.type === "routed") for (const q of e.queues || []) routedTo.add(q);
  const many = routedTo.size > 1;
  const preview = j.payload_encoding === "base64" ? `(base64) ${j.payload}` : j.payload;
  return h("article", { class: "journey", dataset: { id: String(j.id) } },
    h("header", {},
      h("strong", {}, `#${j.id}`),
      h("span", { class: "published-at" }, fmtTime(j.published_at)),
      h("span", { class: "exchange" }, "to ", h("code", {}, exchangeName(j.exchange))),
      h("span", { class: "routing-key" }, "key ", j.routing_key === "" ? h("span", { class: "muted" }, "(empty)") : h("code", {}, j.routing_key)),
      h("span", { class: "connection" }, "from ", j.connection, ` (channel ${j.channel})`),
      h("span", { class: "user" }, "user ", j.user),
      h("span", {}, `${fmtNumber(j.size)} bytes`)),
    h("ol", { class: "events" }, j.events.map((e) =>
      h("li", { class: `event event-${e.type}`, title: fmtTime(e.at), dataset: { seq: String(e.seq) } }, h("span", {}, eventText(e, many))))),
    h("div", { class: "payload", title: "The first 256 bytes" }, preview),
    propertiesLine(j.properties));
}

export function tracePage(ctx) {
  const vhost = h("select", { id: "trace-vhost", "aria-label": "Virtual host" });
  const toggle = h("input", { id: "trace-toggle", type: "checkbox", disabled: !ctx.can.admin });
  const clear = h("button", { id: "trace-clear", type: "button", disabled: !ctx.can.monitor }, "Clear journeys");
  const status = h("p", { class: "muted", id: "trace-status" });
  const list = h("div", { id: "journeys" });
  const el = h("div", {},
    h("h1", {}, "Trace"),
    h("p", { class: "muted" }, "While a vhost's tracing is on, the broker publishes RabbitMQ's firehose (exchange amq.rabbitmq.trace) and records each message's journey: where it was published, which queues it was routed to, who got it and what became of it."),
    h("div", { class: "actions" }, h("label", { class: "muted" }, "Virtual host ", vhost),
      h("label", { class: "switch" }, toggle, "Tracing"), clear,
      ctx.can.admin ? null : h("span", { class: "muted" }, "(switching tracing needs the administrator tag)")),
    section("Journeys, newest first", status, list));

  let vhosts = [];
  let journeys = new Map(); // id -> journey
  let latest = 0;
  let shownFor = null;
  let lastTracing = null;

  vhost.addEventListener("change", () => { reset(); refreshNow(); });
  function reset() { journeys = new Map(); latest = 0; replaceChildren(list); }

  toggle.addEventListener("change", async () => {
    const record = vhosts.find((v) => v.name === vhost.value) || {};
    try {
      await api.put(path("vhosts", vhost.value), { description: record.description || "", tags: (record.tags || []).join(","), tracing: toggle.checked });
      flash("ok", toggle.checked ? `Tracing on for ${vhost.value}` : `Tracing off for ${vhost.value}`);
    } catch (error) {
      toggle.checked = !toggle.checked;
      flash("error", error.message);
    }
  });
  clear.addEventListener("click", async () => {
    if (!(await confirmAction(`Forget the journeys recorded in vhost ${vhost.value}?`))) return;
    try {
      await api.delete(path("journeys", vhost.value));
      reset();
      flash("ok", "Journeys cleared");
    } catch (error) { flash("error", error.message); }
  });

  async function loadVhosts() {
    vhosts = await api.get("/api/vhosts", { columns: "name,description,tags,tracing" });
    const chosen = vhost.value || (vhosts.some((v) => v.name === "/") ? "/" : vhosts[0] && vhosts[0].name);
    if (vhost.options.length !== vhosts.length) {
      replaceChildren(vhost, vhosts.map((v) => h("option", { value: v.name }, v.name)));
      vhost.value = chosen || "";
    }
    const current = vhosts.find((v) => v.name === vhost.value);
    if (current && document.activeElement !== toggle) toggle.checked = !!current.tracing;
  }

  async function loadJourneys() {
    if (!ctx.can.monitor) {
      status.textContent = "Journeys need the monitoring or administrator tag.";
      return;
    }
    if (!(await hasJourneysRoute())) {
      clear.disabled = true;
      status.textContent = "This broker does not record journeys (no /api/journeys route): the tracing switch still turns the firehose on.";
      return;
    }
    if (shownFor !== vhost.value) { reset(); shownFor = vhost.value; }
    const answer = await api.get(path("journeys", vhost.value), { since: latest });
    latest = Math.max(latest, answer.latest || 0);
    const changed = (answer.journeys || []).length > 0 || answer.tracing !== lastTracing || !list.childElementCount;
    lastTracing = answer.tracing;
    if (!changed) return; // (nothing new: the list, and any text selected in it, stay)
    for (const j of answer.journeys || []) journeys.set(j.id, j);
    const newest = [...journeys.values()].sort((a, b) => b.id - a.id).slice(0, KEEP);
    journeys = new Map(newest.map((j) => [j.id, j]));
    status.textContent = newest.length ? `${newest.length} journeys${answer.tracing ? "" : " (tracing is off)"}`
      : answer.tracing ? "No messages yet: publish one to see its journey." : "Tracing is off for this vhost: switch it on to record journeys.";
    replaceChildren(list, newest.map(journeyView));
  }

  async function refresh() {
    await loadVhosts();
    if (vhost.value) await loadJourneys();
  }
  return { el, refresh };
}
