// Exchanges: the paged list, a form to add one, and one exchange's page (bindings from it,
// publish, delete).

import { api, path, ApiError } from "../api.js";
import { h, replaceChildren, fmtRate, rate, section, details, factsList, simpleTable, flash, confirmAction, showValue } from "../dom.js";
import { PagedList } from "../list.js";
import { exchangeLink, exchangeName, queueLink, vhostSelect, parseLines, field, hashPath } from "./common.js";
import { publishSection } from "./messages.js";
import { refreshNow } from "../shell.js";

const TYPES = ["direct", "fanout", "topic", "headers"];

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
      { label: "Message rate in", num: true, cell: (x) => fmtRate(rate(x.message_stats, "publish_in") ?? 0) },
      { label: "Message rate out", num: true, cell: (x) => fmtRate(rate(x.message_stats, "publish_out") ?? 0) },
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
  const bindings = h("div");
  const remove = h("button", { id: "delete-exchange", type: "button", class: "danger" }, "Delete this exchange");
  const builtIn = name === "" || name.startsWith("amq.");
  const el = h("div", {},
    h("h1", {}, h("span", { class: "kind" }, "Exchange"), " ", exchangeName(name)),
    section("Details", facts),
    details("Bindings", true, bindings),
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
    replaceChildren(bindings, name === "" ? h("p", { class: "muted" }, "The default exchange is bound to every queue by its name.") : simpleTable([
      { label: "To", cell: (b) => (b.destination_type === "queue" ? queueLink(vhost, b.destination) : h("a", { href: hashPath("exchanges", vhost, b.destination) }, b.destination)) },
      { label: "Kind", cell: (b) => b.destination_type },
      { label: "Routing key", cell: (b) => h("code", {}, b.routing_key) },
      { label: "Arguments", cell: (b) => showValue(Object.keys(b.arguments || {}).length ? b.arguments : "") },
    ], bound, "No bindings from this exchange.", (b) => b.destination));
  }
  return { el, refresh };
}
