// The page's shell: login, navigation, the hash router and the refresh timer.

import { api, abilities, session, whenUnauthorised, ApiError, NetworkError } from "./api.js";
import { h, flash, clearFlash, clearStaleFlash, replaceChildren } from "./dom.js";
import { routeFor } from "./routes.js";
import { setRefresher } from "./shell.js";

const main = document.getElementById("main");
const menu = document.getElementById("menu");
const sessionBar = document.getElementById("session");
const refreshSelect = document.getElementById("refresh-interval");
const updated = document.getElementById("updated");

let context = null; // {user: {name, tags}, can}
let current = null; // the page shown: {el, refresh(), stop?()}
let timer = null;
let unreachable = false;
let retryAt = 0; // while the broker cannot be reached: when to try again (backing off)
let retryDelay = 0;

// -- login ---------------------------------------------------------------------------------------

function showLogin(message = "") {
  stopTimer();
  current = null;
  context = null;
  menu.hidden = true;
  sessionBar.hidden = true;
  document.title = "Log in · amqpbroker";
  const username = h("input", { id: "username", name: "username", autocomplete: "username", required: true, autocapitalize: "off", spellcheck: "false" });
  const password = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password" });
  const error = h("p", { id: "login-error", role: "alert" }, message);
  const button = h("button", { id: "login-button", type: "submit", class: "primary" }, "Login");
  const form = h("form", { id: "login" },
    h("label", { for: "username" }, "Username", username),
    h("label", { for: "password" }, "Password", password),
    button, error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    error.textContent = "";
    try {
      const answer = await api.post("/api/page-login", { username: username.value, password: password.value });
      if (!answer.ok) {
        error.textContent = answer.reason;
        password.select();
        return;
      }
      session.set({ username: username.value, password: password.value, name: answer.name, tags: answer.tags });
      start();
    } catch (failure) {
      error.textContent = failure instanceof NetworkError ? "Cannot reach the broker." : failure.message;
    } finally {
      button.disabled = false;
    }
  });
  replaceChildren(main, h("div", { class: "login-box panel" }, h("h1", {}, "Log in to amqpbroker"), form));
  username.focus();
}

function logOut(message = "") {
  session.clear();
  clearFlash();
  location.hash = "#/";
  showLogin(message);
}

whenUnauthorised((reason) => logOut(reason === "Login failed" ? "Your session ended: log in again." : reason || ""));

// -- navigation ----------------------------------------------------------------------------------

function buildMenu(can) {
  const links = [["Overview", "#/"], ["Connections", "#/connections"], ["Channels", "#/channels"],
    ["Exchanges", "#/exchanges"], ["Queues", "#/queues"]];
  if (can.admin) links.push(["Admin", "#/admin/users"]);
  else if (can.policymaker) links.push(["Admin", "#/admin/policies"]);
  links.push(["Trace", "#/trace"]);
  replaceChildren(menu, links.map(([text, href]) => h("a", { href }, text)));
}

function markMenu(hash) {
  const section = (hash.split("/")[1] || "");
  for (const link of menu.querySelectorAll("a")) {
    const own = link.getAttribute("href").split("/")[1] || "";
    link.classList.toggle("current", own === section);
    if (own === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

// -- pages and refresh ---------------------------------------------------------------------------

async function show() {
  if (!context) return;
  if (current && current.stop) current.stop();
  const hash = location.hash || "#/";
  markMenu(hash);
  const { title, create } = routeFor(hash, context);
  document.title = `${title} · amqpbroker`;
  current = create();
  replaceChildren(main, current.el);
  main.querySelector("h1")?.setAttribute("tabindex", "-1");
  await refresh();
}

async function refresh() {
  const page = current;
  if (!page || (unreachable && Date.now() < retryAt)) return;
  if (page.busy) { page.again = true; return; } // (one at a time; the asked one runs after)
  page.busy = true;
  try {
    await page.refresh();
    if (page !== current) return;
    if (unreachable) { unreachable = false; retryDelay = 0; clearFlash(); }
    updated.textContent = new Date().toLocaleTimeString("en-GB", { hour12: false });
  } catch (error) {
    if (page !== current) return;
    if (error instanceof NetworkError) {
      unreachable = true;
      retryDelay = Math.min(15000, Math.max(2500, retryDelay * 2));
      retryAt = Date.now() + retryDelay;
      flash("error", "Cannot reach the broker: retrying.");
    } else if (error instanceof ApiError && error.status === 401) {
      // (whenUnauthorised has logged out)
    } else {
      flash("error", error.message);
    }
  } finally {
    page.busy = false;
    if (page.again && page === current) { page.again = false; refresh(); }
  }
}

/** The timer's refresh, which waits while the keyboard is in a table (redrawing its rows
 * would take the focus away from the link or button it is on). */
function periodicRefresh() {
  const focused = document.activeElement;
  if (focused && focused !== document.body && main.contains(focused) && focused.closest("table")) return;
  refresh();
}

function stopTimer() {
  clearInterval(timer);
  timer = null;
}

function startTimer() {
  stopTimer();
  const seconds = Number(refreshSelect.value);
  if (seconds > 0) timer = setInterval(periodicRefresh, seconds * 1000);
}

refreshSelect.value = localStorage.getItem("amqpbroker.refresh") || "5";
refreshSelect.addEventListener("change", () => {
  localStorage.setItem("amqpbroker.refresh", refreshSelect.value);
  startTimer();
});
document.getElementById("logout").addEventListener("click", () => logOut());
// "/" jumps to the list's filter box, as in many tools (not while typing somewhere).
document.addEventListener("keydown", (event) => {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.closest && event.target.closest("input, textarea, select, [contenteditable]")) return;
  const filter = main.querySelector("input.filter");
  if (filter) { event.preventDefault(); filter.focus(); }
});
window.addEventListener("hashchange", () => { clearStaleFlash(); show(); });

setRefresher(refresh);

function start() {
  const s = session.get();
  context = { user: { name: s.name, tags: s.tags }, can: abilities(s.tags) };
  document.getElementById("whoami").textContent = s.name;
  buildMenu(context.can);
  menu.hidden = false;
  sessionBar.hidden = false;
  startTimer();
  show();
}

/** On load: the kept session is checked again (its user may be gone or changed). */
async function boot() {
  const s = session.get();
  if (!s) return showLogin();
  try {
    const answer = await api.post("/api/page-login", { username: s.username, password: s.password });
    if (!answer.ok) return logOut(answer.reason);
    session.set({ ...s, name: answer.name, tags: answer.tags });
    start();
  } catch {
    showLogin("Cannot reach the broker.");
  }
}

boot();
