// The hash routes: "#/queues/%2F/q1" -> the queue page for vhost "/" and queue "q1".

import { h } from "./dom.js";
import { overviewPage } from "./pages/overview.js";
import { queuesPage } from "./pages/queues.js";
import { queuePage } from "./pages/queue.js";
import { exchangesPage, exchangePage } from "./pages/exchanges.js";
import { connectionsPage, connectionPage, channelsPage } from "./pages/connections.js";
import { usersPage, userPage, vhostsPage } from "./pages/admin.js";
import { policiesPage } from "./pages/policies.js";
import { tracePage } from "./pages/trace.js";

/** [pattern parts ("*" is a parameter), title, factory(ctx, ...params), allowed(can)] */
const ROUTES = [
  [[], "Overview", overviewPage],
  [["connections"], "Connections", connectionsPage],
  [["connections", "*"], "Connection", connectionPage],
  [["channels"], "Channels", channelsPage],
  [["exchanges"], "Exchanges", exchangesPage],
  [["exchanges", "*", "*"], "Exchange", exchangePage],
  [["queues"], "Queues", queuesPage],
  [["queues", "*", "*"], "Queue", queuePage],
  [["admin", "users"], "Users", usersPage, (can) => can.admin],
  [["admin", "users", "*"], "User", userPage, (can) => can.admin],
  [["admin", "vhosts"], "Virtual Hosts", vhostsPage, (can) => can.admin],
  [["admin", "policies"], "Policies", policiesPage, (can) => can.policymaker],
  [["trace"], "Trace", tracePage],
];

function parts(hash) {
  const raw = hash.replace(/^#\/?/, "").split("/");
  try {
    return raw.filter((p) => p !== "").map(decodeURIComponent);
  } catch {
    return null;
  }
}

function staticPage(title, text) {
  return () => ({ el: h("div", {}, h("h1", {}, title), h("p", { class: "muted" }, text)), refresh: async () => {} });
}

export function routeFor(hash, ctx) {
  const given = parts(hash);
  if (given) {
    for (const [pattern, title, factory, allowed] of ROUTES) {
      if (pattern.length !== given.length) continue;
      if (!pattern.every((p, i) => p === "*" || p === given[i])) continue;
      if (allowed && !allowed(ctx.can)) return { title, create: staticPage(title, "Your user's tags do not allow this page.") };
      const params = given.filter((_, i) => pattern[i] === "*");
      return { title, create: () => factory(ctx, ...params) };
    }
  }
  return { title: "Not found", create: staticPage("Not found", "There is no such page.") };
}
