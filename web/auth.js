// Signing in with the deployment's issuer (AuthMode cognito or oidc): the authorization-code flow with
// PKCE (Web Crypto), a public client, tokens kept in memory only and refreshed before they expire.
// The one thing that must survive the redirect to the issuer and back, the PKCE verifier with its state,
// waits in sessionStorage (this tab only) and is removed as soon as the code is exchanged.

const PENDING_KEY = "sign-in-pending";
// "Signed in on this browser before": no token, only the hint that after a reload the page may ask the
// issuer for a new sign-in without a prompt (prompt=none), where the issuer says it answers that.
const SIGNED_IN_KEY = "image-processor:signed-in";
const REFRESH_MARGIN_MS = 60_000; // renew a minute before the access token expires

let settings = null; // {issuer, client_id, scopes, authorization_endpoint, token_endpoint, end_session_endpoint}
let tokens = null; // {access, id, refresh, expiresAt, claims}
let refreshTimer = 0;
const listeners = new Set();

export class SignInError extends Error {}

/** Whether this deployment wants callers signed in. */
export function signInEnabled() {
  return settings !== null;
}

export function signedIn() {
  return tokens !== null;
}

/** The Authorization header for API requests: empty when signed out or sign-in is off. */
export function authorizationHeaders() {
  return tokens ? { Authorization: `Bearer ${tokens.access}` } : {};
}

/** The signed-in user as the id token names them (for display only; the API checks the access token). */
export function userName() {
  const claims = tokens?.claims ?? {};
  return claims.email || claims.preferred_username || claims["cognito:username"] || claims.name || claims.sub || "";
}

export function onChange(listener) {
  listeners.add(listener);
}

function changed() {
  for (const listener of listeners) listener();
}

/**
 * Set up from GET /api/options' `sign_in`; finishes a sign-in when the page is the issuer's redirect back.
 * With mode oidc the endpoints come from the issuer's discovery document.
 */
/** Signs in from where the page stands; true when the page is leaving for the issuer (a silent attempt). */
export async function startSignIn(options) {
  if (!options || options.mode === "none" || !options.client_id || !options.issuer) return false;
  settings = { ...options };
  if (!settings.authorization_endpoint || !settings.token_endpoint) {
    const discovery = await getJson(`${options.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
    settings.authorization_endpoint = discovery.authorization_endpoint;
    settings.token_endpoint = discovery.token_endpoint;
    settings.end_session_endpoint = discovery.end_session_endpoint ?? "";
    settings.silent = (discovery.prompt_values_supported ?? []).includes("none");
  }
  const query = new URLSearchParams(window.location.search);
  if (query.has("code") || query.has("error")) {
    await finishSignIn(query);
  } else if (settings.silent && localStorage.getItem(SIGNED_IN_KEY)) {
    await signIn({ silent: true }); // the page leaves for the issuer and comes back signed in, or not
    return true;
  }
  changed();
  return false;
}

/**
 * Off to the issuer's sign-in page, with a fresh PKCE verifier and state; `silent` asks for no page at all
 * (prompt=none): the issuer answers at once, with a code if its session lives, or with login_required.
 */
export async function signIn({ silent = false } = {}) {
  const verifier = randomText(32);
  const state = randomText(16);
  const challenge = base64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state, silent }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: settings.client_id,
    redirect_uri: redirectUri(),
    scope: (settings.scopes ?? ["openid"]).join(" "),
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  if (silent) query.set("prompt", "none");
  window.location.assign(`${settings.authorization_endpoint}?${query}`);
}

/** Forget the tokens; then the issuer ends its own session and sends the browser back here. */
export function signOut() {
  const idToken = tokens?.id;
  forget();
  localStorage.removeItem(SIGNED_IN_KEY);
  if (!settings.end_session_endpoint) return;
  const query = new URLSearchParams({
    client_id: settings.client_id,
    logout_uri: redirectUri(), // Cognito's name
    post_logout_redirect_uri: redirectUri(), // OpenID Connect's
  });
  if (idToken) query.set("id_token_hint", idToken);
  window.location.assign(`${settings.end_session_endpoint}?${query}`);
}

function forget() {
  tokens = null;
  clearTimeout(refreshTimer);
  changed();
}

async function finishSignIn(query) {
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? "null");
  sessionStorage.removeItem(PENDING_KEY);
  window.history.replaceState(null, "", window.location.pathname); // the code works once; keep it out of sight
  if (query.has("error") && pending?.silent) {
    localStorage.removeItem(SIGNED_IN_KEY); // the issuer's session ended: signed out, quietly
    return;
  }
  if (query.has("error")) throw new SignInError(query.get("error_description") || query.get("error"));
  if (!pending || pending.state !== query.get("state")) throw new SignInError("The sign-in answer did not match this page's request; sign in again.");
  await tokenRequest({
    grant_type: "authorization_code",
    code: query.get("code"),
    redirect_uri: redirectUri(),
    code_verifier: pending.verifier,
  });
  localStorage.setItem(SIGNED_IN_KEY, "1");
}

async function refresh() {
  try {
    await tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refresh });
    changed();
  } catch {
    forget(); // the session ended at the issuer: the page shows "Sign in" again
    localStorage.removeItem(SIGNED_IN_KEY);
  }
}

async function tokenRequest(fields) {
  const response = await fetch(settings.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: settings.client_id, ...fields }),
    cache: "no-store",
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || !body.access_token) throw new SignInError(body.error_description || body.error || "The sign-in service refused.");
  const expiresIn = Number(body.expires_in) > 0 ? Number(body.expires_in) : 300;
  tokens = {
    access: body.access_token,
    id: body.id_token ?? tokens?.id ?? "",
    refresh: body.refresh_token ?? tokens?.refresh ?? "",
    expiresAt: Date.now() + expiresIn * 1000,
    claims: readClaims(body.id_token ?? tokens?.id ?? ""),
  };
  clearTimeout(refreshTimer);
  if (tokens.refresh) refreshTimer = setTimeout(refresh, Math.max(expiresIn * 1000 - REFRESH_MARGIN_MS, 5_000));
}

function readClaims(idToken) {
  try {
    const part = idToken.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
  } catch {
    return {};
  }
}

async function getJson(url) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new SignInError(`The sign-in service's settings could not be read (${response.status}).`);
  return response.json();
}

function redirectUri() {
  return `${window.location.origin}/`;
}

function randomText(bytes) {
  return base64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

function base64Url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
