// Pieces several pages share: links to objects, a queue's feature tags, the vhost picker,
// "name=value" lines typed as the API wants them.

import { api } from "../api.js";
import { h } from "../dom.js";

export const hashPath = (...parts) => "#/" + parts.map((p) => encodeURIComponent(p)).join("/");

export function queueLink(vhost, name) {
  return h("a", { href: hashPath("queues", vhost, name) }, name);
}

export function exchangeName(name) {
  return name === "" ? "(AMQP default)" : name;
}

export function exchangeLink(vhost, name) {
  return h("a", { href: hashPath("exchanges", vhost, name || "amq.default") }, exchangeName(name));
}

export function connectionLink(name) {
  return h("a", { href: hashPath("connections", name) }, name);
}

/** D, AD, Excl, TTL, DLX, Lim and the policy's name (RabbitMQ's "Features"). */
export function queueFeatures(q) {
  const args = q.arguments || {};
  const effective = q.effective_policy_definition || {};
  const has = (arg, key) => arg in args || key in effective;
  const tags = [];
  const tag = (text, title) => tags.push(h("span", { class: "tag", title }, text));
  if (q.durable) tag("D", "durable");
  if (q.auto_delete) tag("AD", "auto-delete");
  if (q.exclusive) tag("Excl", "exclusive");
  if (has("x-message-ttl", "message-ttl")) tag("TTL", "message TTL");
  if (has("x-expires", "expires")) tag("Exp", "queue expires");
  if (has("x-dead-letter-exchange", "dead-letter-exchange")) tag("DLX", "dead-letter exchange");
  if (has("x-dead-letter-routing-key", "dead-letter-routing-key")) tag("DLK", "dead-letter routing key");
  if (has("x-max-length", "max-length")) tag("Lim", "maximum length");
  if (has("x-max-length-bytes", "max-length-bytes")) tag("Lim B", "maximum length in bytes");
  if ("x-max-priority" in args) tag("Pri", "priorities");
  if (args["x-single-active-consumer"] === true) tag("SAC", "single active consumer");
  if (q.policy) tags.push(h("span", { class: "tag policy", title: "policy" }, q.policy));
  if (q.operator_policy) tags.push(h("span", { class: "tag policy operator-policy", title: "operator policy" }, q.operator_policy));
  return tags;
}

export async function vhostNames() {
  const vhosts = await api.get("/api/vhosts", { columns: "name,tracing" });
  return vhosts.map((v) => v.name).sort();
}

/** A <select> of vhosts ("" = all when `all`), filled once from /api/vhosts. */
export function vhostSelect(id, { all = false, value = "" } = {}) {
  const select = h("select", { id, "aria-label": "Virtual host" }, all ? h("option", { value: "" }, "All vhosts") : null);
  select.loaded = vhostNames().then((names) => {
    for (const name of names) select.append(h("option", { value: name, selected: name === value }, name));
    if (!all && !select.value && names.length) select.value = names.includes("/") ? "/" : names[0];
  });
  return select;
}

/** "a=1\nb=true\nc=x" -> {a: 1, b: true, c: "x"} (numbers and booleans typed); a JSON
 * object is taken as it is. Throws on a line without "=". */
export function parseLines(text) {
  const trimmed = text.trim();
  if (!trimmed) return {};
  if (trimmed.startsWith("{")) {
    const value = JSON.parse(trimmed);
    if (typeof value !== "object" || Array.isArray(value) || value === null) throw new Error("Not a JSON object");
    return value;
  }
  const result = {};
  for (const line of trimmed.split("\n")) {
    if (!line.trim()) continue;
    const at = line.indexOf("=");
    if (at < 1) throw new Error(`Not name=value: ${line.trim()}`);
    result[line.slice(0, at).trim()] = typed(line.slice(at + 1).trim());
  }
  return result;
}

function typed(text) {
  if (text === "true") return true;
  if (text === "false") return false;
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (/^[[{]/.test(text)) {
    try { return JSON.parse(text); } catch { /* a string after all */ }
  }
  return text;
}

/** "field: label" input helpers for stacked forms. */
export function field(label, control) {
  return [h("label", { for: control.id }, label), control];
}
