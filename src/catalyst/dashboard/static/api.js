// The API client: every request carries the signed-in token in the Authorization header
// (never in a URL), and every non-2xx answer becomes an ApiError with the contract's
// error shape turned into one readable message.

const TOKEN_KEY = "catalyst.token";

/** The token of this browser tab, or null when signed out (session storage only). */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** @param {string} value */
export function signIn(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** An API answer that was not 2xx: `message` joins the error shape's fields. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} statusText
   * @param {string[]} details
   */
  constructor(status, statusText, details) {
    super(`${status} ${statusText}${details.length ? ": " + details.join("; ") : ""}`);
    this.status = status;
    this.details = details;
  }
}

/**
 * The headers of an authenticated request.
 * @param {Record<string, string>} [extra]
 * @returns {Record<string, string>}
 */
export function authHeaders(extra = {}) {
  return { Authorization: `ApiToken ${token() ?? ""}`, Accept: "application/json", ...extra };
}

/**
 * An ApiError from a failed response, whatever its body.
 * @param {Response} response
 */
export async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not the error shape (a proxy's page): fall back to the status line
  }
  if (body && typeof body === "object" && Array.isArray(body.details)) {
    return new ApiError(body.statusCode ?? response.status, body.statusText ?? "", body.details.map(String));
  }
  return new ApiError(response.status, response.statusText || "Error", []);
}

/**
 * One JSON request; resolves to the parsed body or rejects with ApiError.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 */
export async function request(method, path, body) {
  const init = /** @type {RequestInit} */ ({ method, headers: authHeaders() });
  if (body !== undefined) {
    init.headers = authHeaders({ "Content-Type": "application/json" });
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, "Network error", [String(error)]);
  }
  if (!response.ok) throw await errorOf(response);
  return response.status === 204 ? null : response.json();
}

export const api = {
  charts: () => request("GET", "/api/charts"),
  /** @param {string} name */
  chart: (name) => request("GET", `/api/charts/${encodeURIComponent(name)}`),
  /** @param {number} id @param {boolean} latest */
  environment: (id, latest) => request("GET", `/api/environments/${id}${latest ? "?latestStatus=1" : ""}`),
  /** @param {number} id @param {number | null} after */
  history: (id, after) => request("GET", `/api/environments/${id}/history?limit=200${after == null ? "" : `&after=${after}`}`),
  /** @param {{name: string, chartName: string, values: object}} body */
  create: (body) => request("POST", "/api/environments", body),
  /** @param {number} id @param {object} values */
  rebuild: (id, values) => request("POST", `/api/environments/${id}/refresh`, { values }),
  /** @param {number} id */
  keep: (id) => request("POST", `/api/environments/${id}/keep`, {}),
  /** @param {number} id */
  remove: (id) => request("DELETE", `/api/environments/${id}`),
};
