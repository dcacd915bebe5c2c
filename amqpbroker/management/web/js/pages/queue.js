// One queue: counts, rates chart, arguments and policy, consumers, bindings, and actions
// (get, publish, purge, delete, bind).

import { api, path, ApiError } from "../api.js";
import { h, replaceChildren, fmtNumber, rate, section, details, factsList, simpleTable, flash, confirmAction, showValue } from "../dom.js";
import { History, drawChart } from "../chart.js";
import { queueFeatures, exchangeLink, exchangeName, connectionLink, parseLines, field } from "./common.js";
import { publishSection, getSection } from "./messages.js";
import { refreshNow } from "../shell.js";

const RATES = [
  { key: "publish", label: "Incoming" },
  { key: "deliver_get", label: "Deliver / get" },
  { key: "ack", label: "Ack" },
  { key: "redeliver", label: "Redeliver" },
];
const histories = new Map(); // "vhost\nname" -> History, while the page is open

function count(id, label) {
  const value = h("dd", { id }, "–");
  return [h("div", { class: "stat" }, h("dt", {}, label), value), value];
}

export function queuePage(ctx, vhost, name) {
  const key = `${vhost}\n${name}`;
  if (!histories.has(key)) histories.set(key, new History());
  const history = histories.get(key);
  const [readyBox, ready] = count("queue-ready", "Ready");
  const [unackedBox, unacked] = count("queue-unacked", "Unacked");
  const [totalBox, total] = count("queue-total", "Total");
  const [consumersBox, consumerCount] = count("queue-consumers", "Consumers");
  const facts = h("div");
  const chart = h("div", { class: "chart" });
  const consumers = h("div");
  const bindings = h("div");
  const purge = h("button", { id: "purge", type: "button", class: "danger" }, "Purge Messages");
  const remove = h("button", { id: "delete-queue", type: "button", class: "danger" }, "Delete Queue");
  const el = h("div", {},
    h("h1", {}, h("span", { class: "kind" }, "Queue"), " ", name),
    h("div", { class: "grid" },
      h("section", {}, h("h2", {}, "Details"), facts),
      h("section", {}, h("h2", {}, "Queued messages"), h("dl", { class: "stats" }, readyBox, unackedBox, totalBox, consumersBox),
        h("h2", { class: "sub" }, "Message rates"), chart)),
    details("Consumers", true, consumers),
    details("Bindings", true, bindings, bindForm(vhost, name)),
    getSection(vhost, name),
    publishSection(vhost, "", name),
    section("Purge and delete", h("div", { class: "actions" }, purge, remove)));

  purge.addEventListener("click", async () => {
    if (!(await confirmAction(`Purge every ready message of queue ${name}?`))) return;
    try {
      await api.delete(path("queues", vhost, name, "contents"));
      flash("ok", "Queue purged");
      await refreshNow();
    } catch (error) { flash("error", error.message); }
  });
  remove.addEventListener("click", async () => {
    if (!(await confirmAction(`Delete queue ${name}?`))) return;
    try {
      await api.delete(path("queues", vhost, name));
      gone = true;
      location.hash = "#/queues";
      flash("ok", "Queue deleted");
    } catch (error) { flash("error", error.message); }
  });

  let gone = false;
  async function refresh() {
    if (gone) return;
    let queue, bound;
    try {
      [queue, bound] = await Promise.all([api.get(path("queues", vhost, name)), api.get(path("queues", vhost, name, "bindings"))]);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        gone = true;
        replaceChildren(facts, h("p", { class: "muted" }, `Queue ${name} does not exist in vhost ${vhost}.`));
        return;
      }
      throw error;
    }
    ready.textContent = fmtNumber(queue.messages_ready);
    unacked.textContent = fmtNumber(queue.messages_unacknowledged);
    total.textContent = fmtNumber(queue.messages);
    consumerCount.textContent = fmtNumber(queue.consumers);
    renderFacts(queue);
    history.add(Object.fromEntries(RATES.map(({ key: k }) => [k, rate(queue.message_stats, k) ?? 0])));
    drawChart(chart, history, RATES, "/s");
    renderConsumers(queue.consumer_details || []);
    renderBindings(bound);
  }

  function renderFacts(q) {
    const effective = q.effective_policy_definition || {};
    replaceChildren(facts, factsList([
      ["Virtual host", q.vhost],
      ["Type", q.type],
      ["State", q.state],
      ["Features", h("span", {}, queueFeatures(q))],
      ["Policy", h("span", { id: "queue-policy" }, q.policy || "")],
      ["Operator policy", h("span", { id: "queue-operator-policy" }, q.operator_policy || "")],
      ["Effective policy definition", h("code", { id: "queue-effective-policy" }, Object.keys(effective).length ? JSON.stringify(effective) : "")],
      ["Arguments", h("code", { id: "queue-arguments" }, Object.entries(q.arguments || {}).map(([k, v]) => `${k}=${showValue(v)}`).join("  "))],
      ["Exclusive consumer", q.exclusive_consumer_tag || ""],
    ]));
  }

  function renderConsumers(items) {
    replaceChildren(consumers, simpleTable([
      { label: "Channel", cell: (c) => c.channel_details ? h("span", {}, connectionLink(c.channel_details.connection_name), ` (${c.channel_details.number})`) : "" },
      { label: "Consumer tag", cell: (c) => c.consumer_tag },
      { label: "Ack required", cell: (c) => (c.ack_required ? "yes" : "no") },
      { label: "Exclusive", cell: (c) => (c.exclusive ? "yes" : "no") },
      { label: "Prefetch count", num: true, cell: (c) => fmtNumber(c.prefetch_count) },
      { label: "Active", cell: (c) => (c.active ? "yes" : "no") },
      { label: "Arguments", cell: (c) => showValue(c.arguments && Object.keys(c.arguments).length ? c.arguments : "") },
    ], items, "No consumers.", (c) => c.consumer_tag));
  }

  function renderBindings(items) {
    replaceChildren(bindings, simpleTable([
      { label: "From", cell: (b) => (b.source === "" ? h("span", { class: "muted" }, "(Default exchange binding)") : exchangeLink(vhost, b.source)) },
      { label: "Routing key", cell: (b) => h("code", {}, b.routing_key) },
      { label: "Arguments", cell: (b) => showValue(Object.keys(b.arguments || {}).length ? b.arguments : "") },
      { label: "", cell: (b) => (b.source === "" ? "" : h("button", { type: "button", class: "unbind", onclick: () => unbind(b) }, "Unbind")) },
    ], items, "No bindings.", (b) => `${b.source}\n${b.routing_key}`));
  }

  async function unbind(b) {
    try {
      await api.delete(path("bindings", vhost, "e", b.source, "q", name, b.properties_key));
      flash("ok", "Binding removed");
      await refreshNow();
    } catch (error) { flash("error", error.message); }
  }

  return { el, refresh };
}

/** Bind this queue to an exchange (POST /api/bindings/{vhost}/e/{exchange}/q/{queue}). */
function bindForm(vhost, queue) {
  const exchange = h("input", { id: "bind-exchange", required: true });
  const routingKey = h("input", { id: "bind-routing-key" });
  const args = h("textarea", { id: "bind-arguments", rows: 2, placeholder: "name=value, one per line" });
  const form = h("form", { class: "stacked", id: "add-binding" },
    field("From exchange", exchange), field("Routing key", routingKey), field("Arguments", args),
    h("div", { class: "buttons" }, h("button", { type: "submit", id: "bind", class: "primary" }, "Bind")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api.post(path("bindings", vhost, "e", exchange.value, "q", queue), {
        routing_key: routingKey.value, arguments: parseLines(args.value),
      });
      flash("ok", `Bound to ${exchangeName(exchange.value)}`);
      await refreshNow();
    } catch (error) { flash("error", error.message); }
  });
  return h("div", {}, h("h3", {}, "Add binding to this queue"), form);
}

