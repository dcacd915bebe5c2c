// Exchanges: the paged list, a form to add one, and one exchange's page (bindings from it,
// publish, delete).

import { api, path, ApiError } from "../api.js";
import { h, replaceChildren, fmtRate, rate, section, details, factsList, simpleTable, flash, confirmAction, showValue } from "../dom.js";
import { PagedList } from "../list.js";
import { exchangeLink, exchangeName, queueLink, vhostSelect, parseLines, field, hashPath } from "./common.js";
import { publishSection } from "./messages.js";
import { History, drawChart } from "../chart.js";
import { refreshNow } from "../shell.js";

const TYPES = ["direct", "fanout", "topic", "headers"];
const RATES = [{ key: "publish_in", label: "In" }, { key: "publish_out", label: "Out" }];
const histories = new Map(); // "vhost\nname" -> History, while the page is open

function features(x) {
  return [x.durable ? h("span", { class: "tag", title: "durable" }, "D") : null,
    x.auto_delete ? h("span", { class: "tag", title: "auto-delete" }, "AD") : null,
    x.internal ? h("span", { class: "tag", title: "internal" }, "I") : null,
    x.arguments && x.arguments["alternate-exchange"] ? h("span", { class: "tag", title: "alternate exchange" }, "AE") : null,
    x.policy ? h("span", { class: "tag policy" }, x.policy) : null];
}

export function exchangesPage() {
  const vhost = vhostSelect("exchanges-vhost", { all: true });
  const list = new PagedList({
    id: "exchanges",
    url: () => (vhost.value ? path("exchanges", vhost.value) : "/api/exchanges"),
    fields: ["name", "vhost", "type", "durable", "auto_delete", "internal", "arguments", "policy", "message_stats"],
    rowName: (x) => x.name,
    empty: "No exchanges.",
    columns: [
      { label: "Name", sort: "name", cls: "name", cell: (x) => exchangeLink(x.vhost, x.name) },
      { label: "Vhost", sort: "vhost", cell: (x) => x.vhost, when: () => !vhost.value },
      { label: "Type", sort: "type", cell: (x) => x.type },
      { label: "Features", cell: features },
      { label: "Message rate in", sort: "message_stats.publish_in_details.rate", num: true, cell: (x) => fmtRate(rate(x.message_stats, "publish_in") ?? 0) },
      { label: "Message rate out", sort: "message_stats.publish_out_details.rate", num: true, cell: (x) => fmtRate(rate(x.message_stats, "publish_out") ?? 0) },
    ],
  });
  vhost.addEventListener("change", () => { list.state.page = 1; refreshNow(); });
  const el = h("div", {},
    h("h1", {}, "Exchanges"),
    h("div", { class: "actions" }, h("label", { class: "muted" }, "Virtual host ", vhost)),
    h("section", {}, list.el),
    addExchangeForm());
  return { el, refresh: async () => { await vhost.loaded; await list.refresh(); } };
}

function addExchangeForm() {
  const vhost = vhostSelect("new-exchange-vhost");
  const name = h("input", { id: "new-exchange-name", required: true });
  const type = h("select", { id: "new-exchange-type" }, TYPES.map((t) => h("option", { value: t }, t)));
  const durable = h("select", { id: "new-exchange-durable" }, h("option", { value: "true" }, "Durable"), h("option", { value: "false" }, "Transient"));
  const args = h("textarea", { id: "new-exchange-arguments", rows: 2, placeholder: "alternate-exchange=ae" });
  const form = h("form", { class: "stacked", id: "add-exchange" },
    field("Virtual host", vhost), field("Name", name), field("Type", type), field("Durability", durable), field("Arguments", args),
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary" }, "Add exchange")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api.put(path("exchanges", vhost.value, name.value), {
        type: type.value, durable: durable.value === "true", auto_delete: false, internal: false, arguments: parseLines(args.value),
      });
      flash("ok", `Exchange ${name.value} declared`);
      name.value = "";
      await refreshNow();
    } catch (error) { flash("error", error.message); }
  });
  return details("Add a new exchange", false, form);
}

export function exchangePage(ctx, vhost, routeName) {
  const name = routeName === "amq.default" ? "" : routeName;
  const facts = h("div");
  const chart = h("div", { class: "chart" });
  const bindings = h("div");
  const key = `${vhost}\n${name}`;
  if (!histories.has(key)) histories.set(key, new History());
  const history = histories.get(key);
  const remove = h("button", { id: "delete-exchange", type: "button", class: "danger" }, "Delete this exchange");
  const builtIn = name === "" || name.startsWith("amq.");
  const el = h("div", {},
    h("h1", {}, h("span", { class: "kind" }, "Exchange"), " ", exchangeName(name)),
    h("div", { class: "grid" }, section("Details", facts), section("Message rates", chart)),
    details("Bindings", true, bindings, name === "" ? null : bindFromForm(vhost, name)),
    publishSection(vhost, name),
    builtIn ? null : section("Delete", remove));
  let gone = false;
  remove.addEventListener("click", async () => {
    if (!(await confirmAction(`Delete exchange ${name}?`))) return;
    try {
      await api.delete(path("exchanges", vhost, name));
      gone = true;
      location.hash = "#/exchanges";
      flash("ok", "Exchange deleted");
    } catch (error) { flash("error", error.message); }
  });

  async function refresh() {
    if (gone) return;
    let x, bound;
    try {
      [x, bound] = await Promise.all([
        api.get(path("exchanges", vhost, routeName)),
        name === "" ? [] : api.get(path("exchanges", vhost, name, "bindings", "source")),
      ]);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        gone = true;
        replaceChildren(facts, h("p", { class: "muted" }, `Exchange ${name} does not exist in vhost ${vhost}.`));
        return;
      }
      throw error;
    }
    replaceChildren(facts, factsList([
      ["Virtual host", x.vhost], ["Type", x.type], ["Features", h("span", {}, features(x))],
      ["Policy", x.policy || ""], ["Arguments", h("code", {}, showValue(Object.keys(x.arguments || {}).length ? x.arguments : ""))],
      ["Message rate in", fmtRate(rate(x.message_stats, "publish_in") ?? 0)],
      ["Message rate out", fmtRate(rate(x.message_stats, "publish_out") ?? 0)],
    ]));
    history.add(Object.fromEntries(RATES.map(({ key: k }) => [k, rate(x.message_stats, k) ?? 0])));
    drawChart(chart, history, RATES, "/s");
    replaceChildren(bindings, name === "" ? h("p", { class: "muted" }, "The default exchange is bound to every queue by its name.") : simpleTable([
      { label: "To", cell: (b) => (b.destination_type === "queue" ? queueLink(vhost, b.destination) : h("a", { href: hashPath("exchanges", vhost, b.destination) }, b.destination)) },
      { label: "Kind", cell: (b) => b.destination_type },
      { label: "Routing key", cell: (b) => h("code", {}, b.routing_key) },
      { label: "Arguments", cell: (b) => showValue(Object.keys(b.arguments || {}).length ? b.arguments : "") },
      { label: "", cell: (b) => h("button", { type: "button", class: "unbind", onclick: () => unbind(b) }, "Unbind") },
    ], bound, "No bindings from this exchange.", (b) => b.destination));
  }
  async function unbind(b) {
    const kind = b.destination_type === "queue" ? "q" : "e";
    try {
      await api.delete(path("bindings", vhost, "e", name, kind, b.destination, b.properties_key));
      flash("ok", "Binding removed");
      await refreshNow();
    } catch (error) { flash("error", error.message); }
  }
  return { el, refresh };
}

/** Bind this exchange to a queue or another exchange. */
function bindFromForm(vhost, exchange) {
  const kind = h("select", { id: "bind-destination-type" }, h("option", { value: "q" }, "To queue"), h("option", { value: "e" }, "To exchange"));
  const destination = h("input", { id: "bind-destination", required: true });
  const routingKey = h("input", { id: "bind-routing-key" });
  const args = h("textarea", { id: "bind-arguments", rows: 2, placeholder: "name=value, one per line" });
  const form = h("form", { class: "stacked", id: "add-binding" },
    field("Destination", kind), field("Name", destination), field("Routing key", routingKey), field("Arguments", args),
    h("div", { class: "buttons" }, h("button", { type: "submit", id: "bind", class: "primary" }, "Bind")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api.post(path("bindings", vhost, "e", exchange, kind.value, destination.value), {
        routing_key: routingKey.value, arguments: parseLines(args.value),
      });
      flash("ok", `Bound to ${destination.value}`);
      await refreshNow();
    } catch (error) { flash("error", error.message); }
  });
  return h("div", {}, h("h3", {}, "Add binding from this exchange"), form);
}
