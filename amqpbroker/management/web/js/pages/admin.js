// Admin (administrators): users, one user's tags, password and permissions; virtual hosts.

import { api, path, ApiError } from "../api.js";
import { h, replaceChildren, fmtNumber, section, details, simpleTable, flash, confirmAction } from "../dom.js";
import { vhostSelect, field, hashPath } from "./common.js";
import { refreshNow } from "../shell.js";

/** The Admin pages' own tabs: Users, Virtual Hosts, Policies. */
export function adminTabs(current, can) {
  const tabs = [["users", "Users"], ["vhosts", "Virtual Hosts"], ["policies", "Policies"]]
    .filter(([key]) => can.admin || key === "policies");
  return h("nav", { class: "tabs actions", "aria-label": "Admin" }, tabs.map(([key, text]) =>
    h("a", { href: `#/admin/${key}`, class: key === current ? "current" : null, "aria-current": key === current ? "page" : null }, text)));
}

async function act(text, action) {
  try {
    await action();
    flash("ok", text);
    await refreshNow();
    return true;
  } catch (error) {
    flash("error", error.message);
    return false;
  }
}

export function usersPage(ctx) {
  const table = h("div");
  const name = h("input", { id: "new-user-name", required: true, autocomplete: "off" });
  const password = h("input", { id: "new-user-password", type: "password", autocomplete: "new-password" });
  const tags = h("input", { id: "new-user-tags", placeholder: "administrator, monitoring, policymaker, management" });
  const form = h("form", { class: "stacked", id: "add-user" },
    field("Username", name), field("Password", password), field("Tags", tags),
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary" }, "Add user")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { tags: tags.value };
    if (password.value) body.password = password.value;
    else body.password_hash = "";
    if (await act("User added", () => api.put(path("users", name.value), body))) { name.value = ""; password.value = ""; tags.value = ""; }
  });
  const el = h("div", {}, h("h1", {}, "Users"), adminTabs("users", ctx.can), section("All users", table), details("Add a user", false, form));

  async function refresh() {
    const [users, permissions] = await Promise.all([api.get("/api/users"), api.get("/api/permissions")]);
    const vhostsOf = (user) => permissions.filter((p) => p.user === user).map((p) => p.vhost).join(", ");
    replaceChildren(table, simpleTable([
      { label: "Name", cls: "name", cell: (u) => h("a", { href: hashPath("admin", "users", u.name) }, u.name) },
      { label: "Tags", cell: (u) => (Array.isArray(u.tags) ? u.tags : String(u.tags || "").split(",")).filter(Boolean).map((t) => h("span", { class: "tag" }, t)) },
      { label: "Can access virtual hosts", cell: (u) => vhostsOf(u.name) || h("span", { class: "muted" }, "No access") },
      { label: "Has password", cell: (u) => (u.password_hash ? "yes" : "no") },
    ], users, "No users.", (u) => u.name));
  }
  return { el, refresh };
}

export function userPage(ctx, name) {
  const facts = h("div");
  const perms = h("div");
  const tags = h("input", { id: "user-tags", autocomplete: "off" });
  const password = h("input", { id: "user-password", type: "password", autocomplete: "new-password", placeholder: "(unchanged)" });
  const update = h("form", { class: "stacked", id: "update-user" }, field("Tags", tags), field("New password", password),
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary" }, "Update user")));
  let user = null;
  update.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { tags: tags.value };
    if (password.value) body.password = password.value;
    else if (user) Object.assign(body, { password_hash: user.password_hash, hashing_algorithm: user.hashing_algorithm });
    else body.password_hash = "";
    if (await act("User updated", () => api.put(path("users", name), body))) password.value = "";
  });
  const vhost = vhostSelect("permission-vhost");
  const configure = h("input", { id: "permission-configure", value: ".*" });
  const write = h("input", { id: "permission-write", value: ".*" });
  const read = h("input", { id: "permission-read", value: ".*" });
  const setPermission = h("form", { class: "stacked", id: "set-permission" },
    field("Virtual host", vhost), field("Configure regexp", configure), field("Write regexp", write), field("Read regexp", read),
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary" }, "Set permission")));
  setPermission.addEventListener("submit", (event) => {
    event.preventDefault();
    act("Permission set", () => api.put(path("permissions", vhost.value, name), { configure: configure.value, write: write.value, read: read.value }));
  });
  const remove = h("button", { id: "delete-user", type: "button", class: "danger" }, "Delete this user");
  let gone = false;
  remove.addEventListener("click", async () => {
    if (!(await confirmAction(`Delete user ${name}?`))) return;
    try {
      await api.delete(path("users", name));
      gone = true;
      location.hash = "#/admin/users";
      flash("ok", "User deleted");
    } catch (error) { flash("error", error.message); }
  });
  const el = h("div", {}, h("h1", {}, h("span", { class: "kind" }, "User"), " ", name), adminTabs("users", ctx.can),
    section("Details", facts), section("Permissions", perms, h("h3", {}, "Set permission"), setPermission),
    section("Update this user", update), section("Delete", remove));

  let filled = false;
  async function refresh() {
    if (gone) return;
    try {
      [user] = await Promise.all([api.get(path("users", name))]);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        gone = true;
        replaceChildren(facts, h("p", { class: "muted" }, `There is no user ${name}.`));
        return;
      }
      throw error;
    }
    const list = await api.get(path("users", name, "permissions"));
    const userTags = Array.isArray(user.tags) ? user.tags.join(", ") : String(user.tags || "");
    if (!filled) { tags.value = userTags; filled = true; }
    replaceChildren(facts, h("p", {}, "Tags: ", userTags || h("span", { class: "muted" }, "none")));
    replaceChildren(perms, simpleTable([
      { label: "Virtual host", cell: (p) => p.vhost },
      { label: "Configure", cell: (p) => h("code", {}, p.configure) },
      { label: "Write", cell: (p) => h("code", {}, p.write) },
      { label: "Read", cell: (p) => h("code", {}, p.read) },
      { label: "", cell: (p) => h("button", { type: "button", class: "clear-permission", onclick: () => act("Permission cleared", () => api.delete(path("permissions", p.vhost, name))) }, "Clear") },
    ], list, "No permissions.", (p) => p.vhost));
  }
  return { el, refresh };
}

export function vhostsPage(ctx) {
  const table = h("div");
  const name = h("input", { id: "new-vhost-name", required: true });
  const description = h("input", { id: "new-vhost-description" });
  const form = h("form", { class: "stacked", id: "add-vhost" }, field("Name", name), field("Description", description),
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary" }, "Add virtual host")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await act("Virtual host added", () => api.put(path("vhosts", name.value), { description: description.value }))) name.value = "";
  });
  const el = h("div", {}, h("h1", {}, "Virtual Hosts"), adminTabs("vhosts", ctx.can), section("All virtual hosts", table), details("Add a virtual host", false, form));

  async function remove(vhost) {
    if (await confirmAction(`Delete virtual host ${vhost} and everything in it?`)) act("Virtual host deleted", () => api.delete(path("vhosts", vhost)));
  }
  async function refresh() {
    const vhosts = await api.get("/api/vhosts");
    replaceChildren(table, simpleTable([
      { label: "Name", cls: "name", cell: (v) => v.name },
      { label: "Description", cell: (v) => v.description || "" },
      { label: "Tracing", cell: (v) => (v.tracing ? "on" : "off") },
      { label: "Ready", num: true, cell: (v) => fmtNumber(v.messages_ready ?? 0) },
      { label: "Unacked", num: true, cell: (v) => fmtNumber(v.messages_unacknowledged ?? 0) },
      { label: "Total", num: true, cell: (v) => fmtNumber(v.messages ?? 0) },
      { label: "", cell: (v) => h("button", { type: "button", class: "danger delete-vhost", onclick: () => remove(v.name) }, "Delete") },
    ], vhosts, "No virtual hosts.", (v) => v.name));
  }
  return { el, refresh };
}
