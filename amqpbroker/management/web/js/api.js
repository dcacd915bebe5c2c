// The management API client: HTTP Basic from the session kept in sessionStorage.

const KEY = "amqpbroker.session";

export class ApiError extends Error {
  constructor(status, reason) {
    super(reason || `HTTP ${status}`);
    this.status = status;
    this.reason = reason || `HTTP ${status}`;
  }
}

/** The broker could not be reached (restart, network). */
export class NetworkError extends Error {}

export const session = {
  get() {
    try {
      return JSON.parse(sessionStorage.getItem(KEY) || "null");
    } catch {
      return null;
    }
  },
  set(value) { sessionStorage.setItem(KEY, JSON.stringify(value)); },
  clear() { sessionStorage.removeItem(KEY); },
};

/** What the user's tags allow the page to ask for (as the API enforces). */
export function abilities(tags) {
  const has = (tag) => tags.includes(tag);
  const admin = has("administrator");
  return {
    admin,
    monitor: admin || has("monitoring"),
    policymaker: admin || has("policymaker"),
  };
}

/** "/api/queues/%2F/q" from ["queues", "/", "q"]. */
export function path(...parts) {
  return "/api/" + parts.map((p) => encodeURIComponent(p)).join("/");
}

function authorization() {
  const s = session.get();
  return s ? "Basic " + btoa(String.fromCharCode(...new TextEncoder().encode(`${s.username}:${s.password}`))) : null;
}

let onUnauthorised = () => {};
const SESSION_OVER = new Set([null, "Login failed", "Not management user", "User can only log in via localhost"]);
export function whenUnauthorised(callback) { onUnauthorised = callback; }

async function call(method, url, body, extraHeaders = {}) {
  const headers = { Accept: "application/json", ...extraHeaders };
  const auth = authorization();
  if (auth) headers.Authorization = auth;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  } catch (error) {
    throw new NetworkError("Cannot reach the broker");
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!response.ok) {
    const reason = data && typeof data === "object" ? data.reason || data.error : null;
    // (a 401 for the credentials themselves ends the session; one for what they may do,
    // "Not administrator user" or a vhost's access, is only this action's failure)
    if (response.status === 401 && SESSION_OVER.has(reason ?? null)) onUnauthorised(reason);
    throw new ApiError(response.status, reason);
  }
  return data;
}

export const api = {
  get: (url, query) => call("GET", query ? `${url}?${new URLSearchParams(query)}` : url),
  put: (url, body) => call("PUT", url, body ?? {}),
  post: (url, body) => call("POST", url, body ?? {}),
  delete: (url, headers) => call("DELETE", url, undefined, headers),
};
