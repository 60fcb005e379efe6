// The server's API as the app uses it: the session (sign in, refresh before expiry, sign out) and
// requests that show errors in words. Every URL is relative to the page, so the app works unchanged
// behind a reverse proxy that serves it under a path prefix.

const SESSION_KEY = "vitalgraph.session";
const REFRESH_MARGIN = 0.2; // refresh when 80 % of the access token's life has passed

export const pageBase = new URL(".", document.baseURI);

export function apiUrl(path, params = {}) {
  const url = new URL(path, pageBase);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  return url;
}

const STATUS_WORDS = {
  400: "The request was refused",
  401: "Your session has ended",
  403: "You are not allowed to do that",
  404: "Not found",
  408: "The upload stalled",
  409: "Conflict",
  410: "No longer available",
  413: "Too large",
  415: "Unsupported type",
  416: "That range of the file does not exist",
  422: "Some input is not valid",
  429: "Too many attempts",
  500: "The server failed",
  502: "The server could not be reached",
  503: "The service is unavailable",
  504: "The server took too long",
};

/** An error from the server, in words: what kind of failure, then the server's own explanation. */
export class ApiError extends Error {
  constructor(status, detail) {
    const kind = STATUS_WORDS[status] || (status >= 500 ? "The server failed" : "The request failed");
    super(detail ? `${kind}: ${detail}` : `${kind}.`);
    this.status = status;
    this.detail = detail;
  }
}

export function describeError(error) {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return "The server could not be reached: check the network connection.";
  return error && error.message ? error.message : String(error);
}

async function errorFrom(response) {
  let detail = "";
  try {
    const body = await response.json();
    if (typeof body.detail === "string") detail = body.detail;
    else if (Array.isArray(body.detail)) {
      detail = body.detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
    }
  } catch {
    detail = "";
  }
  return new ApiError(response.status, detail);
}

// --- the session ---------------------------------------------------------------------------------
let session = loadSession();
let refreshTimer = null;
let refreshing = null;
let reauthenticate = null; // set by the app: shows the sign-in form, resolves once signed in again
scheduleRefresh(); // a reloaded page renews the session it found, as the page that started it would have

function loadSession() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY)) || null;
  } catch {
    return null;
  }
}

function storeSession(tokens) {
  session = {
    access: tokens.access_token,
    refresh: tokens.refresh_token,
    expiresAt: Date.now() + tokens.expires_in * 1000,
    lifetime: tokens.expires_in * 1000,
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  scheduleRefresh();
}

function clearSession() {
  session = null;
  sessionStorage.removeItem(SESSION_KEY);
  clearTimeout(refreshTimer);
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (!session) return;
  const wait = Math.max(1000, session.expiresAt - Date.now() - session.lifetime * REFRESH_MARGIN);
  refreshTimer = setTimeout(() => refreshSession().catch(() => {}), wait);
}

export function onReauthenticate(handler) {
  reauthenticate = handler;
}

export function signedIn() {
  return session !== null;
}

export async function signIn(username, password) {
  const response = await fetch(apiUrl("api/login"), {
    method: "POST",
    body: new URLSearchParams({ username, password }),
  });
  if (response.status === 401) throw new Error("Sign-in failed: wrong username or password.");
  if (!response.ok) throw await errorFrom(response);
  storeSession(await response.json());
}

/** A new token pair; on failure the session is over (the sign-in form comes next). */
export function refreshSession() {
  if (!session) return Promise.reject(new ApiError(401, "not signed in"));
  if (!refreshing) {
    refreshing = (async () => {
      const response = await fetch(apiUrl("api/refresh"), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: session.refresh }),
      });
      if (!response.ok) {
        const error = await errorFrom(response);
        if (response.status === 401) clearSession();
        throw error;
      }
      storeSession(await response.json());
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

export async function signOut() {
  const current = session;
  clearSession();
  if (current) {
    await fetch(apiUrl("api/logout"), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: current.refresh }),
    }).catch(() => {});
  }
}

/** A valid access token: refreshed first if it is about to expire; the sign-in form if the session ended. */
export async function accessToken() {
  if (session && session.expiresAt - Date.now() < session.lifetime * REFRESH_MARGIN) {
    await refreshSession().catch(() => {});
  }
  if (!session) await signInAgain("Your session has ended. Sign in again to continue; nothing you were doing is lost.");
  return session.access;
}

let waitingForSignIn = null;
function signInAgain(reason) {
  if (!reauthenticate) return Promise.reject(new ApiError(401, "not signed in"));
  if (!waitingForSignIn) {
    waitingForSignIn = reauthenticate(reason).finally(() => {
      waitingForSignIn = null;
    });
  }
  return waitingForSignIn;
}

/** The session ended on the server (a 401): try a refresh, else ask the person to sign in again. */
export async function recoverFrom401() {
  try {
    await refreshSession();
  } catch {
    clearSession();
    await signInAgain("Your session has ended. Sign in again to continue; nothing you were doing is lost.");
  }
}

// --- requests -------------------------------------------------------------------------------------
/**
 * fetch() with the bearer token. A 401 refreshes the session (or asks to sign in again) and retries
 * once; any other failure throws an ApiError worded from the server's `detail`.
 */
export async function request(path, { method = "GET", params, json, body, headers = {}, raw = false } = {}) {
  const init = { method, headers: { ...headers } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = init.headers["Content-Type"] || "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  for (let attempt = 0; ; attempt++) {
    init.headers.Authorization = `Bearer ${await accessToken()}`;
    const response = await fetch(apiUrl(path, params), init);
    if (response.status === 401 && attempt === 0) {
      await recoverFrom401();
      continue;
    }
    if (!response.ok && response.status !== 206) throw await errorFrom(response);
    if (raw) return response;
    const type = response.headers.get("Content-Type") || "";
    return type.includes("json") ? response.json() : response.text();
  }
}

export const get = (path, params) => request(path, { params });
