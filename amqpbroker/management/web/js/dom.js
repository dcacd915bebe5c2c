// Small DOM helpers: element building, formatting, the flash line and the confirm dialog.

/** h("td", {class: "num"}, "12") — attributes: class, dataset (object), on<event>, others as
 * attributes (false/null skipped); children: strings, numbers, nodes, arrays, null. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "value") el.value = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const integer = new Intl.NumberFormat("en-US");
const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1, minimumFractionDigits: 0 });

export function fmtNumber(value) {
  return typeof value === "number" ? integer.format(value) : "–";
}

export function fmtRate(value) {
  return typeof value === "number" ? `${decimal.format(value)}/s` : "–";
}

export function fmtBytes(value) {
  if (typeof value !== "number") return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let n = value, unit = 0;
  while (n >= 1024 && unit < units.length - 1) { n /= 1024; unit++; }
  return `${decimal.format(n)} ${units[unit]}`;
}

export function fmtDuration(ms) {
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hours = Math.floor(s / 3600); s -= hours * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d) return `${d}d ${hours}h`;
  if (hours) return `${hours}h ${m}m`;
  return m ? `${m}m ${s}s` : `${s}s`;
}

export function fmtTime(ms) {
  if (typeof ms !== "number") return "–";
  const date = new Date(ms);
  return date.toLocaleTimeString("en-GB", { hour12: false }) + "." + String(date.getMilliseconds()).padStart(3, "0");
}

/** A rate from a RabbitMQ stats object: stats[key + "_details"].rate. */
export function rate(stats, key) {
  const details = stats && stats[`${key}_details`];
  return details && typeof details.rate === "number" ? details.rate : undefined;
}

/** The last action's outcome: kind "ok" or "error". */
export function flash(kind, text) {
  const box = document.getElementById("flash");
  replaceChildren(box, h("div", { class: `flash ${kind}`, title: "Click to dismiss", onclick: () => box.replaceChildren() }, text));
  box.dataset.at = String(Date.now());
}

/** Forget the outcome shown unless it is from the last moment (an action that moved on to
 * another page keeps its outcome). */
export function clearStaleFlash() {
  const box = document.getElementById("flash");
  if (Date.now() - Number(box.dataset.at || 0) > 1500) box.replaceChildren();
}

export function clearFlash() {
  document.getElementById("flash").replaceChildren();
}

/** The in-page confirmation: resolves true for OK. */
export function confirmAction(text) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
    document.getElementById("confirm-cancel").focus();
  });
}

/** A section with an h2 (open details when collapsible). */
export function section(title, ...children) {
  return h("section", {}, h("h2", {}, title), ...children);
}

export function details(title, open, ...children) {
  return h("details", { open }, h("summary", {}, h("h2", {}, title)), ...children);
}

export function factsList(pairs) {
  return h("dl", { class: "facts" }, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

/** A plain table (not paged): columns [{label, cell(item) -> node|string, num}]. */
export function simpleTable(columns, items, empty = "Nothing here.", rowName = null) {
  const head = h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : null }, c.label)));
  const rows = items.length
    ? items.map((item) => h("tr", { dataset: rowName ? { name: rowName(item) } : {} },
      columns.map((c) => h("td", { class: c.cls || (c.num ? "num" : null) }, c.cell(item)))))
    : [h("tr", {}, h("td", { class: "empty", colspan: columns.length }, empty))];
  return h("div", { class: "table-wrap" }, h("table", { class: "list" }, h("thead", {}, head), h("tbody", {}, rows)));
}

/** JSON-ish value shown compactly. */
export function showValue(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** Is the user typing in this element (so refreshes must leave it alone)? */
export function isEditing(root) {
  const active = document.activeElement;
  return active && root.contains(active) && ["INPUT", "TEXTAREA", "SELECT"].includes(active.tagName);
}
