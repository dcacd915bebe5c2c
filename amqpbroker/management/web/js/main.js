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
let refreshing = false;
let unreachable = false;

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
  if (!current || refreshing) return;
  const page = current;
  refreshing = true;
  try {
    await page.refresh();
    if (unreachable) { unreachable = false; clearFlash(); }
    updated.textContent = new Date().toLocaleTimeString("en-GB", { hour12: false });
  } catch (error) {
    if (error instanceof NetworkError) {
      unreachable = true;
      flash("error", "Cannot reach the broker: retrying.");
    } else if (error instanceof ApiError && error.status === 401) {
      // (whenUnauthorised has logged out)
    } else if (page.failed) {
      page.failed(error);
    } else {
      flash("error", error.message);
    }
  } finally {
    refreshing = false;
  }
}

function stopTimer() {
  clearInterval(timer);
  timer = null;
}

function startTimer() {
  stopTimer();
  const seconds = Number(refreshSelect.value);
  if (seconds > 0) timer = setInterval(refresh, seconds * 1000);
}

refreshSelect.value = localStorage.getItem("amqpbroker.refresh") || "5";
refreshSelect.addEventListener("change", () => {
  localStorage.setItem("amqpbroker.refresh", refreshSelect.value);
  startTimer();
});
document.getElementById("logout").addEventListener("click", () => logOut());
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
