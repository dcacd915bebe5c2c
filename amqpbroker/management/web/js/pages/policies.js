// Policies and operator policies: the tables and one form to set (create or edit) either.

import { api, path } from "../api.js";
import { h, replaceChildren, section, simpleTable, flash, confirmAction } from "../dom.js";
import { vhostSelect, parseLines, field } from "./common.js";
import { adminTabs } from "./admin.js";
import { refreshNow } from "../shell.js";

function definitionText(definition) {
  return Object.entries(definition || {}).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join("\n");
}

export function policiesPage(ctx) {
  const policies = h("div");
  const operatorPolicies = h("div");
  const kind = h("select", { id: "policy-kind" }, h("option", { value: "policies" }, "Policy"),
    ctx.can.admin ? h("option", { value: "operator-policies" }, "Operator policy") : null);
  const vhost = vhostSelect("policy-vhost");
  const name = h("input", { id: "policy-name", required: true });
  const pattern = h("input", { id: "policy-pattern", required: true, placeholder: "^orders\\." });
  const applyTo = h("select", { id: "policy-apply-to" }, [["queues", "Queues"], ["exchanges", "Exchanges"], ["all", "Exchanges and queues"]]
    .map(([value, text]) => h("option", { value }, text)));
  const priority = h("input", { id: "policy-priority", type: "number", value: "0" });
  const definition = h("textarea", { id: "policy-definition", rows: 4, placeholder: "max-length=1000\nmessage-ttl=60000\n(or a JSON object)" });
  const form = h("form", { class: "stacked", id: "policy-form" },
    field("Kind", kind), field("Virtual host", vhost), field("Name", name), field("Pattern", pattern),
    field("Apply to", applyTo), field("Priority", priority), field("Definition", definition),
    h("div", { class: "buttons" }, h("button", { id: "policy-save", type: "submit", class: "primary" }, "Add / update policy")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const body = { pattern: pattern.value, definition: parseLines(definition.value), priority: Number(priority.value) || 0, "apply-to": applyTo.value };
      await api.put(path(kind.value, vhost.value, name.value), body);
      flash("ok", "Policy set");
      await refreshNow();
    } catch (error) { flash("error", error.message); }
  });

  function edit(p, operator) {
    kind.value = operator ? "operator-policies" : "policies";
    vhost.value = p.vhost;
    name.value = p.name;
    pattern.value = p.pattern;
    applyTo.value = p["apply-to"];
    priority.value = String(p.priority);
    definition.value = definitionText(p.definition);
    name.focus();
  }
  async function remove(p, operator) {
    if (!(await confirmAction(`Delete ${operator ? "operator policy" : "policy"} ${p.name} in vhost ${p.vhost}?`))) return;
    try {
      await api.delete(path(operator ? "operator-policies" : "policies", p.vhost, p.name));
      flash("ok", "Policy cleared");
      await refreshNow();
    } catch (error) { flash("error", error.message); }
  }
  function table(items, operator) {
    const mayChange = operator ? ctx.can.admin : ctx.can.policymaker;
    return simpleTable([
      { label: "Virtual host", cell: (p) => p.vhost },
      { label: "Name", cls: "name", cell: (p) => p.name },
      { label: "Pattern", cell: (p) => h("code", {}, p.pattern) },
      { label: "Apply to", cell: (p) => p["apply-to"] },
      { label: "Definition", cell: (p) => h("code", { class: "definition" }, JSON.stringify(p.definition)) },
      { label: "Priority", num: true, cell: (p) => String(p.priority) },
      { label: "", cell: (p) => (mayChange ? h("span", { class: "row" },
        h("button", { type: "button", class: "edit-policy", onclick: () => edit(p, operator) }, "Edit"),
        h("button", { type: "button", class: "danger delete-policy", onclick: () => remove(p, operator) }, "Delete")) : "") },
    ], items, operator ? "No operator policies." : "No policies.", (p) => p.name);
  }

  const el = h("div", {}, h("h1", {}, "Policies"), adminTabs("policies", ctx.can),
    section("User policies", policies), section("Operator policies", operatorPolicies),
    section("Add / update a policy", form));
  async function refresh() {
    const [user, operator] = await Promise.all([api.get("/api/policies"), api.get("/api/operator-policies")]);
    replaceChildren(policies, table(user, false));
    replaceChildren(operatorPolicies, table(operator, true));
  }
  return { el, refresh };
}
