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
    if (response.status === 401 && url !== "/api/page-login") onUnauthorised(reason);
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
