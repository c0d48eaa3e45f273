// Images at the edge with sign-in on: the signed cookies of POST /api/session admit this user's own images,
// /img/<owner>/..., in this browser (HttpOnly, Secure, SameSite=Strict: the page never sees them, and a link
// to them works only in a browser signed in here). They last an hour, so they are asked for again on every
// sign-in and token refresh (tokens live an hour too); sign-out clears them.

import { endSession, startSession } from "./api.js";
import { authorizationHeaders, onChange, signedIn } from "./auth.js";

let delivery = null; // GET /api/options' delivery {path, widths, session}
let owned = null; // the user's own {path, widths, signed: true} once the cookies are set
let asked = null; // the access token the cookies were last asked with
let pending = Promise.resolve();
const listeners = new Set();

/** Call `listener` whenever the user's edge addresses come or go. */
export function onEdgeChange(listener) {
  listeners.add(listener);
}

function changed() {
  for (const listener of listeners) listener();
}

/** Follow the sign-in state: new cookies for each new token, none once signed out. */
export function startEdgeSession(options) {
  delivery = options;
  if (!delivery?.session) return;
  onChange(() => {
    const token = signedIn() ? authorizationHeaders().Authorization : null;
    if (token === asked) return;
    asked = token;
    if (!token) {
      owned = null;
      changed();
      return;
    }
    pending = startSession(delivery.session).then((answer) => {
      const path = typeof answer?.path === "string" && /^\/img\/[0-9a-f]{64}$/.test(answer.path) ? answer.path : null;
      owned = path ? { path, widths: delivery.widths, signed: true } : null;
    }).catch(() => {
      owned = null; // no cookies: the page keeps to the API's addresses
    }).finally(changed);
  });
}

/**
 * Clear the cookies on signing out: call it before auth.js forgets the token, which the route needs (the request
 * takes it at once, and is kept alive while the page leaves for the issuer).
 */
export function endEdgeSession() {
  if (!delivery?.session || !signedIn()) return Promise.resolve();
  owned = null;
  return endSession(delivery.session).catch(() => {});
}

/** Where this page's images are at the edge: everyone's path without sign-in, the user's own with it, or null. */
export function edgeDelivery() {
  if (!delivery) return null;
  return delivery.session ? owned : delivery;
}

/** Resolves once the cookies asked for last are set (or refused). */
export function edgeReady() {
  return pending;
}
