// Queues: the paged list (from the API, never all of them) and a form to add one.

import { api, path } from "../api.js";
import { h, fmtNumber, fmtRate, rate, details, flash } from "../dom.js";
import { PagedList } from "../list.js";
import { queueLink, queueFeatures, vhostSelect, parseLines, field } from "./common.js";
import { refreshNow } from "../shell.js";

const FIELDS = ["name", "vhost", "type", "durable", "auto_delete", "exclusive", "arguments", "policy",
  "operator_policy", "effective_policy_definition", "state", "messages_ready", "messages_unacknowledged",
  "messages", "message_stats", "consumers"];

function stateCell(q) {
  return h("span", { class: q.state === "running" ? "state-running" : "state-other" }, q.state || "–");
}

export function queuesPage() {
  const vhost = vhostSelect("queues-vhost", { all: true });
  const list = new PagedList({
    id: "queues",
    url: () => (vhost.value ? path("queues", vhost.value) : "/api/queues"),
    fields: FIELDS,
    rowName: (q) => q.name,
    empty: "No queues.",
    columns: [
      { label: "Name", sort: "name", cls: "name", cell: (q) => queueLink(q.vhost, q.name) },
      { label: "Vhost", sort: "vhost", cell: (q) => q.vhost, when: () => !vhost.value },
      { label: "Type", sort: "type", cell: (q) => q.type },
      { label: "Features", cell: queueFeatures },
      { label: "State", sort: "state", cell: stateCell },
      { label: "Ready", sort: "messages_ready", cls: "ready", num: true, cell: (q) => fmtNumber(q.messages_ready) },
      { label: "Unacked", sort: "messages_unacknowledged", cls: "unacked", num: true, cell: (q) => fmtNumber(q.messages_unacknowledged) },
      { label: "Total", sort: "messages", cls: "total", num: true, cell: (q) => fmtNumber(q.messages) },
      { label: "Incoming", sort: "message_stats.publish_details.rate", num: true, cell: (q) => fmtRate(rate(q.message_stats, "publish") ?? 0) },
      { label: "Deliver / get", sort: "message_stats.deliver_get_details.rate", num: true, cell: (q) => fmtRate(rate(q.message_stats, "deliver_get") ?? 0) },
      { label: "Ack", sort: "message_stats.ack_details.rate", num: true, cell: (q) => fmtRate(rate(q.message_stats, "ack") ?? 0) },
      { label: "Consumers", sort: "consumers", num: true, cell: (q) => fmtNumber(q.consumers) },
    ],
  });
  vhost.addEventListener("change", () => { list.state.page = 1; refreshNow(); });
  const el = h("div", {},
    h("h1", {}, "Queues"),
    h("div", { class: "actions" }, h("label", { class: "muted" }, "Virtual host ", vhost)),
    h("section", {}, list.el),
    addQueueForm());
  return { el, refresh: async () => { await vhost.loaded; await list.refresh(); } };
}

function addQueueForm() {
  const vhost = vhostSelect("new-queue-vhost");
  const name = h("input", { id: "new-queue-name", required: true });
  const type = h("select", { id: "new-queue-type" }, ["classic", "quorum"].map((t) => h("option", { value: t }, t)));
  const durable = h("select", { id: "new-queue-durable" }, h("option", { value: "true" }, "Durable"), h("option", { value: "false" }, "Transient"));
  const autoDelete = h("select", { id: "new-queue-auto-delete" }, h("option", { value: "false" }, "No"), h("option", { value: "true" }, "Yes"));
  const args = h("textarea", { id: "new-queue-arguments", placeholder: "x-message-ttl=60000\nx-dead-letter-exchange=dlx" });
  const form = h("form", { class: "stacked", id: "add-queue" },
    field("Virtual host", vhost), field("Name", name), field("Type", type), field("Durability", durable),
    field("Auto delete", autoDelete), field("Arguments", args),
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary", id: "add-queue-button" }, "Add queue")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const argumentsValue = { ...parseLines(args.value), "x-queue-type": type.value };
      await api.put(path("queues", vhost.value, name.value), {
        durable: durable.value === "true", auto_delete: autoDelete.value === "true", arguments: argumentsValue,
      });
      flash("ok", `Queue ${name.value} declared`);
      name.value = "";
      await refreshNow();
    } catch (error) {
      flash("error", error.message);
    }
  });
  return details("Add a new queue", false, form);
}
